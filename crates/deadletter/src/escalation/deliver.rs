//! Delivering the escalation webhooks the ledger holds open.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable as _};
use chrono::Utc;
use sluice_core::metrics::ESCALATION_WEBHOOKS;
use sluice_core::signature::{self, sign};
use sluice_core::workflow::Owners;
use sluice_ledger::{Escalation, EscalationOutcome, LedgerClient};
use tokio_util::sync::CancellationToken;

use super::{Delivery, Webhook, Webhooks};
use crate::Error;

/// How many open webhooks one pass claims (and calls at once).
const BATCH: u32 = 10;

/// The `webhook-id` of item `id`'s escalation: the same on every attempt
/// and every claimant, so the receiver can drop a repeat.
pub fn webhook_id(review_item_id: i64) -> String {
    format!("review-escalated:{review_item_id}")
}

/// Claims and delivers open escalation webhooks.
#[derive(Debug, Clone)]
pub struct Escalator {
    ledger: LedgerClient,
    webhooks: Webhooks,
    owners: Owners,
    delivery: Delivery,
    http: reqwest::Client,
    claimant: String,
}

/// One failed call: whether another may succeed, and why, without the URL.
#[derive(Debug)]
struct CallError {
    temporary: bool,
    reason: String,
}

impl Escalator {
    /// An escalator for this process (its claimant name is unique to it).
    pub fn new(
        ledger: LedgerClient,
        webhooks: Webhooks,
        owners: Owners,
        delivery: Delivery,
    ) -> Result<Self, Error> {
        // A redirect would turn the signed POST into something else (or
        // send it where nobody declared): the receiver must answer itself.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("sluice-deadletter/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Http(e.without_url().to_string()))?;
        Ok(Self {
            ledger,
            webhooks,
            owners,
            delivery,
            http,
            claimant: format!("sluice-deadletter:{}", uuid::Uuid::new_v4()),
        })
    }

    /// Delivers every `every` until `shutdown`. A delivery cut off by the
    /// shutdown is left to its lease, then taken over.
    pub async fn watch(self, every: Duration, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                done = self.deliver_open() => if let Err(e) = done {
                    tracing::warn!(error = %e, "escalation webhooks not delivered; will retry");
                },
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }

    /// One pass: claims open webhooks until none is left and delivers them;
    /// returns how many ended (delivered or failed).
    pub async fn deliver_open(&self) -> Result<usize, Error> {
        let mut ended = 0;
        loop {
            let claimed = self
                .ledger
                .claim_escalations(&self.claimant, self.delivery.lease(), BATCH)
                .await?;
            if claimed.is_empty() {
                return Ok(ended);
            }
            let outcomes = futures::future::join_all(claimed.iter().map(|e| self.deliver(e)));
            // Every outcome is recorded before an error returns: one the
            // ledger did not take is delivered again after its lease.
            let mut first_error = None;
            for outcome in outcomes.await {
                match self.record(&outcome).await {
                    Ok(()) => ended += 1,
                    Err(e) => first_error = first_error.or(Some(e)),
                }
            }
            if let Some(e) = first_error {
                return Err(e);
            }
        }
    }

    async fn deliver(&self, escalation: &Escalation) -> EscalationOutcome {
        let (attempts, result) = match self.webhooks.get(&escalation.workflow) {
            Some(webhook) => self.post(webhook, escalation).await,
            // Opened under a configuration that had one; nobody can send it.
            None => (
                0,
                Err("no escalation webhook is configured for the workflow".into()),
            ),
        };
        let label = match &result {
            Ok(()) => {
                tracing::info!(review_item = escalation.review_item_id, attempts,
                    workflow = %escalation.workflow, "escalation webhook delivered");
                "delivered"
            }
            Err(reason) => {
                tracing::error!(review_item = escalation.review_item_id, attempts,
                    workflow = %escalation.workflow, %reason,
                    "escalation webhook failed for good; the escalation event went out");
                "failed"
            }
        };
        metrics::counter!(ESCALATION_WEBHOOKS.name,
            "workflow" => escalation.workflow.clone(),
            "owner" => self.owners.label(&escalation.workflow).to_owned(),
            "result" => label)
        .increment(1);
        EscalationOutcome {
            review_item_id: escalation.review_item_id,
            claimant: self.claimant.clone(),
            delivered: result.is_ok(),
            attempts,
            error: result.err(),
        }
    }

    async fn record(&self, outcome: &EscalationOutcome) -> Result<(), Error> {
        if !self.ledger.record_escalation(outcome).await? {
            // Our lease ran out and another claimant took over: theirs is
            // the outcome that counts.
            tracing::warn!(
                review_item = outcome.review_item_id,
                "escalation outcome not recorded: the claim was taken over"
            );
        }
        Ok(())
    }

    /// POSTs the escalation until it is accepted, refused for good or out
    /// of attempts; returns the calls made and the last failure.
    async fn post(&self, webhook: &Webhook, escalation: &Escalation) -> (u32, Result<(), String>) {
        let body = escalation.payload.to_string();
        let id = webhook_id(escalation.review_item_id);
        let calls = AtomicU32::new(0);
        let call = || async {
            calls.fetch_add(1, Ordering::Relaxed);
            let timestamp = Utc::now().timestamp();
            let signature = sign(&webhook.secret, &id, timestamp, body.as_bytes());
            let response = self
                .http
                .post(webhook.url.clone())
                .timeout(self.delivery.timeout)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(signature::ID_HEADER, &id)
                .header(signature::TIMESTAMP_HEADER, timestamp.to_string())
                .header(signature::SIGNATURE_HEADER, signature)
                .body(body.clone())
                .send()
                .await
                .map_err(|e| CallError {
                    // Could not connect, or no answer in time: try again.
                    temporary: true,
                    reason: e.without_url().to_string(),
                })?;
            classify(response.status())
        };
        let retries = ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(self.delivery.retry_base)
            .with_max_delay(self.delivery.retry_max)
            .with_max_times(usize::try_from(self.delivery.attempts.saturating_sub(1)).unwrap_or(0));
        let result = call
            .retry(retries)
            .when(|e| e.temporary)
            .notify(|e, after| {
                tracing::warn!(review_item = escalation.review_item_id, host = webhook.host(),
                    reason = %e.reason, ?after, "escalation webhook call failed; retrying");
            })
            .await;
        (calls.into_inner(), result.map_err(|e| e.reason))
    }
}

/// What an answer means: 2xx delivered; 408, 429 and 5xx worth another
/// call; anything else (another 4xx, a redirect) refused for good.
fn classify(status: reqwest::StatusCode) -> Result<(), CallError> {
    if status.is_success() {
        return Ok(());
    }
    let temporary = status.is_server_error()
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
    Err(CallError {
        temporary,
        reason: format!("the receiver answered {status}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified_for_retry() {
        let temporary = |code: u16| {
            let status = reqwest::StatusCode::from_u16(code).expect("status");
            classify(status).err().map(|e| e.temporary)
        };
        assert_eq!(temporary(200), None);
        assert_eq!(temporary(204), None);
        for code in [500, 502, 503, 408, 429] {
            assert_eq!(temporary(code), Some(true), "{code}");
        }
        for code in [400, 401, 404, 410, 301, 302] {
            assert_eq!(temporary(code), Some(false), "{code}");
        }
    }
}
