//! The notify stage handler: Begin → send → Complete on the notifier's own
//! key, then the final transitions.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sluice_bus::observe::{Layer, prevented_duplicate};
use sluice_bus::{Bus, Delivery, HandlerError, Outcome};
use sluice_core::metrics::{NOTIFICATIONS, RETRIES};
use sluice_core::pipeline::Verdict;
use sluice_core::{Envelope, FailureClass, Stage, State, WorkflowSpec, headers};
use sluice_ledger::{BeginOutcome, BeginRequest, FailureKind, LedgerClient};
use tracing::Instrument as _;

use crate::channel::{Channel, Outbound, SendError};
use crate::render;

mod finish;

/// The notifier's handler, cheap to clone into every consume loop.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    bus: Bus,
    ledger: LedgerClient,
    /// Per workflow: its notify template, channel and the channel's name.
    routes: HashMap<String, (String, Channel, String)>,
    /// Workflows whose actions are verified: their executions reach the
    /// notifier in `VERIFIED`, not `ACTION_COMPLETED`.
    verified: HashSet<String>,
    lease: Duration,
    owner: String,
}

/// What this delivery asks the notifier to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Confirmation,
    Clarification,
}

struct Ctx {
    envelope: Envelope,
    /// Where the executor left the execution: `VERIFIED` or `ACTION_COMPLETED`.
    after: State,
    kind: Kind,
    generation: String,
    key: String,
    final_delivery: bool,
}

impl Notifier {
    /// A handler for `workflows`, sending over `channels` (by name).
    pub fn new(
        bus: Bus,
        ledger: LedgerClient,
        workflows: &[WorkflowSpec],
        channels: &HashMap<String, Channel>,
        lease: Duration,
    ) -> Result<Self, crate::Error> {
        let mut routes = HashMap::new();
        for spec in workflows {
            let Some(notify) = &spec.notify else { continue };
            let channel = channels.get(&notify.channel).ok_or_else(|| {
                crate::Error::Config(format!(
                    "workflow {} notifies over channel {:?}, which is not configured",
                    spec.name, notify.channel
                ))
            })?;
            routes.insert(
                spec.name.clone(),
                (
                    notify.template.clone(),
                    channel.clone(),
                    notify.channel.clone(),
                ),
            );
        }
        let verified = workflows
            .iter()
            .filter(|spec| spec.actions.iter().any(|a| a.verify.is_some()))
            .map(|spec| spec.name.clone())
            .collect();
        let owner = format!("sluice-notifier-{}", uuid_like());
        Ok(Self {
            inner: Arc::new(Inner {
                bus,
                ledger,
                routes,
                verified,
                lease,
                owner,
            }),
        })
    }

    /// Handles one notify-stage delivery.
    pub async fn handle(&self, delivery: Delivery) -> Result<Outcome, HandlerError> {
        let envelope = match delivery.envelope() {
            Ok(envelope) => envelope,
            Err(reason) => return Ok(permanent(reason)),
        };
        let span = tracing::info_span!(
            "notify",
            execution_id = %envelope.execution_id,
            correlation_id = %envelope.correlation_id,
            workflow = %envelope.workflow,
            stage = "notify",
        );
        let Some(kind) = kind(&envelope) else {
            return Ok(permanent(
                "nothing to notify: no clarification and no action recorded",
            ));
        };
        let generation = delivery
            .header(headers::GENERATION)
            .unwrap_or("0")
            .to_owned();
        let after = if self.inner.verified.contains(&envelope.workflow) {
            State::Verified
        } else {
            State::ActionCompleted
        };
        let ctx = Ctx {
            after,
            key: format!("{}:notify:{generation}", envelope.execution_id),
            envelope,
            kind,
            generation,
            final_delivery: delivery.is_final_delivery(),
        };
        self.process(ctx).instrument(span).await
    }

    async fn process(&self, ctx: Ctx) -> Result<Outcome, HandlerError> {
        let Some((template, channel, name)) = self.inner.routes.get(&ctx.envelope.workflow) else {
            tracing::warn!("workflow declares no notification; nothing sent");
            return self.delivered(&ctx).await;
        };
        let text = match ctx.kind {
            Kind::Confirmation => render::confirmation(template, &ctx.envelope),
            Kind::Clarification => match &ctx.envelope.decision {
                Some(d) => render::question_with_offers(&d.missing, &d.offers),
                None => render::question(&[]),
            },
        };
        let Some(to) = recipient(&ctx.envelope, channel.recipient_field()) else {
            return self.failed(&ctx, "no recipient in the contract").await;
        };
        let message = Outbound {
            to,
            text,
            execution_id: ctx.envelope.execution_id,
        };
        let begin = BeginRequest {
            key: ctx.key.clone(),
            fingerprint: fingerprint(&message),
            owner: self.inner.owner.clone(),
            lease: self.inner.lease,
            execution_id: Some(ctx.envelope.execution_id),
            target_honours_keys: channel.honours_keys(),
            supersede_review: None,
        };
        match self.inner.ledger.begin(&begin).await? {
            BeginOutcome::Started { fencing_token, .. } => {
                self.send(&ctx, (channel, name), &message, fencing_token)
                    .await
            }
            BeginOutcome::Completed { .. } => {
                tracing::info!("notification already sent; not sending again");
                prevented_duplicate(Layer::Ledger, Stage::Notify);
                self.delivered(&ctx).await
            }
            BeginOutcome::InProgress {
                lease_expires_at, ..
            } => {
                prevented_duplicate(Layer::Ledger, Stage::Notify);
                let left = (lease_expires_at - chrono::Utc::now()).to_std();
                Ok(Outcome::retry_after(
                    left.unwrap_or(Duration::from_millis(100)),
                ))
            }
            BeginOutcome::FailedPermanent { reason } => self.failed(&ctx, &reason).await,
            BeginOutcome::Unknown { reason, .. } => {
                self.unknown(&ctx, &format!("the message may have been sent: {reason}"))
                    .await
            }
            BeginOutcome::Conflict { .. } => {
                self.unknown(&ctx, "a different message was recorded under this key")
                    .await
            }
        }
    }

    async fn send(
        &self,
        ctx: &Ctx,
        (channel, name): (&Channel, &str),
        message: &Outbound,
        token: i64,
    ) -> Result<Outcome, HandlerError> {
        let ledger = &self.inner.ledger;
        let workflow = ctx.envelope.workflow.clone();
        let sent = |result: &'static str| {
            metrics::counter!(NOTIFICATIONS.name, "workflow" => workflow.clone(), "result" => result)
                .increment(1);
        };
        ledger.mark_attempted(&ctx.key, token).await?;
        let outcome = match channel.send(&ctx.key, message).await {
            // A receiver that deduplicates by key may simply be sent again.
            Err(SendError::Ambiguous(reason)) if channel.honours_keys() => {
                Err(SendError::Temporary(reason))
            }
            other => other,
        };
        match outcome {
            Ok(()) => {
                let result = json!({"to": message.to, "sent_at": chrono::Utc::now()});
                // The key's completion carries the closing moves: one round
                // trip and one transaction. Moves it could not make (the
                // execution was elsewhere) are made apart, to learn why.
                let finishing = finish::finishing(ctx);
                let moved = ledger
                    .complete_and_record(&ctx.key, token, Some(result), &finishing)
                    .await?;
                sent("sent");
                if moved {
                    return self.completed(ctx).await;
                }
                self.delivered(ctx).await
            }
            Err(SendError::Temporary(reason)) if !ctx.final_delivery => {
                tracing::warn!(%reason, "notification failed; retrying the notification alone");
                ledger
                    .fail(&ctx.key, token, FailureKind::Recoverable, &reason, None)
                    .await?;
                sent("retry");
                metrics::counter!(RETRIES.name, "stage" => Stage::Notify.as_str(),
                    "workflow" => workflow.clone(), "integration" => name.to_owned())
                .increment(1);
                Ok(Outcome::retry())
            }
            Err(SendError::Ambiguous(reason)) => {
                // The key stays in progress with the send attempted, so a
                // redelivery is answered UNKNOWN too: nobody sends it twice.
                sent("failed");
                self.unknown(ctx, &format!("the message may have been sent: {reason}"))
                    .await
            }
            Err(SendError::Temporary(reason) | SendError::Permanent(reason)) => {
                ledger
                    .fail(&ctx.key, token, FailureKind::Permanent, &reason, None)
                    .await?;
                sent("failed");
                self.failed(ctx, &reason).await
            }
        }
    }
}

fn kind(envelope: &Envelope) -> Option<Kind> {
    match envelope.decision.as_ref()?.verdict {
        Verdict::Clarify => Some(Kind::Clarification),
        Verdict::Auto | Verdict::Review if !envelope.actions.is_empty() => Some(Kind::Confirmation),
        _ => None,
    }
}

fn recipient(envelope: &Envelope, field: &str) -> Option<String> {
    let contract = envelope.interpretation.as_ref().map(|i| &i.contract);
    contract
        .and_then(|c| c.get(field))
        .or_else(|| envelope.data.get("from"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn fingerprint(message: &Outbound) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(message.to.as_bytes());
    ctx.update(b"\n");
    ctx.update(message.text.as_bytes());
    hex::encode(ctx.finish())
}

fn permanent(reason: impl Into<String>) -> Outcome {
    Outcome::dead_letter(FailureClass::Permanent, reason)
}

/// A short random suffix so replicas hold keys under distinct owner names.
fn uuid_like() -> String {
    format!("{:016x}", fastrand::u64(..))
}
