//! Escalations of review items past their SLA.
//!
//! The SLA check ([`crate::review_sla`]) announces every overdue item on
//! `<prefix>.events.escalated.<workflow>` with its owner, and, when the
//! workflow declares an escalation webhook, opens the webhook in the ledger
//! in the transaction that marks the item announced. [`deliver`] then POSTs
//! each open webhook, signed as Standard Webhooks (`webhook-id =
//! review-escalated:<item>`, so a receiver can drop a repeat), retried with
//! backoff on timeouts, 408, 429 and 5xx, and records the outcome in the
//! ledger. A webhook that fails for good is recorded and counted, never
//! retried; the event went out regardless.
//!
//! Exactly one delivery per item: the ledger hands an open webhook to one
//! claimant at a time, under a lease longer than the slowest delivery. A
//! replica that dies mid-delivery leaves its claim to run out; another then
//! delivers it under the same `webhook-id`.
//!
//! Webhook URLs may carry credentials (chat webhooks often do), so logs and
//! errors name only their host.

pub mod deliver;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use sluice_core::WorkflowSpec;
use sluice_core::signature::Secret;
use sluice_core::workflow::WebhookTarget;

use crate::Error;

/// How escalation webhooks are called and retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// The time limit of one call.
    pub timeout: Duration,
    /// Calls in all, the first included.
    pub attempts: u32,
    /// The first delay ceiling between calls.
    pub retry_base: Duration,
    /// The largest delay between calls.
    pub retry_max: Duration,
}

impl Delivery {
    /// The longest one delivery can take: every call timing out, every
    /// delay at its ceiling.
    pub fn longest(&self) -> Duration {
        let calls = self.timeout.saturating_mul(self.attempts);
        calls.saturating_add(
            self.retry_max
                .saturating_mul(self.attempts.saturating_sub(1)),
        )
    }

    /// How long a claim holds: twice the longest delivery (and at least a
    /// minute), so a live claimant always records before anyone takes over.
    pub fn lease(&self) -> Duration {
        self.longest()
            .saturating_mul(2)
            .max(Duration::from_secs(60))
    }
}

/// One workflow's resolved escalation webhook.
#[derive(Clone)]
pub struct Webhook {
    url: reqwest::Url,
    secret: Secret,
}

impl Webhook {
    /// Where it goes, for logs: the host only, never the path or query.
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or("?")
    }
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("host", &self.host())
            .finish()
    }
}

/// Every workflow's escalation webhook that is on in this deployment.
#[derive(Debug, Clone, Default)]
pub struct Webhooks(Arc<BTreeMap<String, Webhook>>);

impl Webhooks {
    /// Resolves the webhooks `specs` declare against the process
    /// environment `env`. A URL named by an unset variable turns that
    /// workflow's webhook off; a webhook that is on needs its secret.
    pub fn resolve(specs: &[WorkflowSpec], env: &HashMap<String, String>) -> Result<Self, Error> {
        let mut webhooks = BTreeMap::new();
        for spec in specs {
            let Some(escalation) = spec.ownership.as_ref().and_then(|o| o.escalation.as_ref())
            else {
                continue;
            };
            let invalid = |reason: String| Error::Escalation {
                workflow: spec.name.clone(),
                reason,
            };
            let text = match &escalation.webhook {
                WebhookTarget::Url(url) => url.clone(),
                WebhookTarget::Env { env: name } => match set(env, name) {
                    Some(url) => url.to_owned(),
                    None => {
                        tracing::info!(workflow = %spec.name, variable = %name,
                            "escalation webhook off: its URL variable is not set");
                        continue;
                    }
                },
            };
            let url = reqwest::Url::parse(&text)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                .ok_or_else(|| invalid("the webhook is not an http(s) URL with a host".into()))?;
            let name = &escalation.secret_env;
            let secret = set(env, name)
                .ok_or_else(|| invalid(format!("{name} is not set: the webhook must be signed")))?;
            let secret = Secret::parse(secret).map_err(|e| invalid(format!("{name}: {e}")))?;
            webhooks.insert(spec.name.clone(), Webhook { url, secret });
        }
        Ok(Self(Arc::new(webhooks)))
    }

    /// `workflow`'s webhook, if it is on.
    pub fn get(&self, workflow: &str) -> Option<&Webhook> {
        self.0.get(workflow)
    }
}

/// The value of `name`, unless unset or blank.
fn set<'a>(env: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn reservation() -> WorkflowSpec {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../workflows/reservation");
        WorkflowSpec::load(std::path::Path::new(dir)).expect("reservation")
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_webhook_is_on_with_its_url_and_secret_and_off_without_its_url() -> Result<(), Error> {
        let specs = [reservation()];
        let on = Webhooks::resolve(
            &specs,
            &env(&[
                (
                    "SLUICE_RESERVATION_ESCALATION_URL",
                    "https://hooks.example/t/abc?k=1",
                ),
                ("SLUICE_RESERVATION_ESCALATION_SECRET", SECRET),
            ]),
        )?;
        let hook = on.get("reservation").expect("on");
        assert_eq!(hook.host(), "hooks.example");
        assert!(!format!("{hook:?}").contains("abc"), "no path in logs");
        let off = Webhooks::resolve(&specs, &env(&[]))?;
        assert!(off.get("reservation").is_none());
        Ok(())
    }

    #[test]
    fn a_webhook_without_a_usable_secret_or_url_refuses_to_start() {
        let specs = [reservation()];
        let url = (
            "SLUICE_RESERVATION_ESCALATION_URL",
            "https://hooks.example/x",
        );
        let no_secret = Webhooks::resolve(&specs, &env(&[url])).expect_err("no secret");
        assert!(
            no_secret
                .to_string()
                .contains("SLUICE_RESERVATION_ESCALATION_SECRET")
        );
        let secret = ("SLUICE_RESERVATION_ESCALATION_SECRET", "whsec_!!!");
        let bad = Webhooks::resolve(&specs, &env(&[url, secret])).expect_err("bad secret");
        assert!(bad.to_string().contains("whsec_"), "{bad}");
        let secret = ("SLUICE_RESERVATION_ESCALATION_SECRET", SECRET);
        let url = (
            "SLUICE_RESERVATION_ESCALATION_URL",
            "mailto:ops@example.com",
        );
        let bad = Webhooks::resolve(&specs, &env(&[url, secret])).expect_err("bad URL");
        assert!(bad.to_string().contains("http(s) URL"), "{bad}");
        assert!(
            !bad.to_string().contains("ops@"),
            "the URL is not repeated: {bad}"
        );
    }

    #[test]
    fn the_lease_outlasts_the_slowest_delivery() {
        let d = Delivery {
            timeout: Duration::from_secs(5),
            attempts: 5,
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(30),
        };
        assert_eq!(d.longest(), Duration::from_secs(25 + 120));
        assert_eq!(d.lease(), Duration::from_secs(290));
    }
}
