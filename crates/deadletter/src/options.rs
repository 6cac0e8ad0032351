//! The dead-letter service's typed configuration (file < `SLUICE_*` env <
//! flags).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sluice_bus::{Backoff, ConsumeOptions, NatsOptions};
pub use sluice_ledger::LedgerOptions;

/// Everything the dead-letter service needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    /// NATS connection and prefix.
    pub nats: NatsOptions,
    /// The ledger (role `service`).
    pub ledger: LedgerOptions,
    /// Where `/livez`, `/readyz` and `/metrics` are served (binary only).
    pub http_listen: Option<SocketAddr>,
    /// Handlers running at once per consumer.
    pub concurrency: usize,
    /// How long one pull waits for messages, in milliseconds.
    pub fetch_wait_ms: u64,
    /// How long in-flight handlers may finish after shutdown, in milliseconds.
    pub grace_ms: u64,
    /// How long a delivery may stay unacknowledged before it is redelivered,
    /// in milliseconds.
    pub ack_wait_ms: u64,
    /// The first redelivery backoff ceiling (ledger or NATS unavailable), in
    /// milliseconds.
    pub retry_base_ms: u64,
    /// The largest redelivery backoff ceiling, in milliseconds.
    pub retry_max_ms: u64,
    /// How long after a dead letter leaves its stream it may still be
    /// replayed from the ledger's index (`7d`, `36h`…). The ledger's key
    /// retention must cover the stream's max age plus this.
    #[serde(with = "duration_text")]
    pub replay_horizon: Duration,
    /// How often review items past their SLA are looked for and announced,
    /// in milliseconds.
    pub review_sla_check_ms: u64,
    /// How often the backlog gauges (open dead letters, review backlog,
    /// consumer pending) are sampled, in milliseconds.
    pub backlog_every_ms: u64,
    /// The declared workflows (`<dir>/<name>/workflow.toml`): their owners
    /// label the backlog gauges and receive their escalations.
    pub workflows_dir: PathBuf,
    /// How long one escalation webhook call may take, in milliseconds.
    pub escalation_timeout_ms: u64,
    /// Calls of one escalation webhook in all, the first included, before
    /// it is recorded as failed.
    pub escalation_attempts: u32,
    /// The first delay between escalation webhook calls, in milliseconds
    /// (exponential with full jitter).
    pub escalation_retry_base_ms: u64,
    /// The largest delay between escalation webhook calls, in milliseconds.
    pub escalation_retry_max_ms: u64,
}

/// The default replay horizon.
pub const DEFAULT_REPLAY_HORIZON: Duration = Duration::from_secs(7 * 24 * 60 * 60);

impl Default for Options {
    fn default() -> Self {
        Self {
            nats: NatsOptions::default(),
            ledger: LedgerOptions::default(),
            http_listen: Some(SocketAddr::from(([0, 0, 0, 0], 9096))),
            concurrency: 8,
            fetch_wait_ms: 5_000,
            grace_ms: 10_000,
            ack_wait_ms: 30_000,
            retry_base_ms: 1_000,
            retry_max_ms: 60_000,
            replay_horizon: DEFAULT_REPLAY_HORIZON,
            review_sla_check_ms: 30_000,
            backlog_every_ms: 15_000,
            workflows_dir: PathBuf::from("workflows"),
            escalation_timeout_ms: 5_000,
            escalation_attempts: 5,
            escalation_retry_base_ms: 1_000,
            escalation_retry_max_ms: 30_000,
        }
    }
}

impl Options {
    /// How often review SLAs are checked.
    pub fn review_sla_check(&self) -> Duration {
        Duration::from_millis(self.review_sla_check_ms.max(100))
    }

    /// How often the backlog gauges are sampled.
    pub fn backlog_every(&self) -> Duration {
        Duration::from_millis(self.backlog_every_ms.max(100))
    }

    /// How escalation webhooks are called and retried.
    pub fn escalation(&self) -> crate::escalation::Delivery {
        let base = Duration::from_millis(self.escalation_retry_base_ms);
        crate::escalation::Delivery {
            timeout: Duration::from_millis(self.escalation_timeout_ms.max(1)),
            attempts: self.escalation_attempts.max(1),
            retry_base: base,
            retry_max: Duration::from_millis(self.escalation_retry_max_ms).max(base),
        }
    }

    /// The consume-loop settings these options describe.
    pub fn consume(&self) -> ConsumeOptions {
        ConsumeOptions {
            concurrency: self.concurrency.max(1),
            fetch_wait: Duration::from_millis(self.fetch_wait_ms.max(1)),
            grace: Duration::from_millis(self.grace_ms),
            backoff: Backoff {
                base: Duration::from_millis(self.retry_base_ms),
                max: Duration::from_millis(self.retry_max_ms.max(self.retry_base_ms)),
            },
            progress_every: None,
        }
    }

    /// The consumers' ack wait.
    pub fn ack_wait(&self) -> Duration {
        Duration::from_millis(self.ack_wait_ms.max(1))
    }
}

/// A duration written as configured (`7d`), in files and `SLUICE_*` values.
mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize as _, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::retention::human(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        sluice_runtime::config::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_replay_horizon_is_read_as_a_duration() -> Result<(), Box<dyn std::error::Error>> {
        let env = [("SLUICE_REPLAY_HORIZON".to_owned(), "36h".to_owned())];
        let options: Options = sluice_runtime::config::load(None, env, &[])?;
        assert_eq!(options.replay_horizon, Duration::from_secs(36 * 3600));
        let defaults: Options = sluice_runtime::config::load(None, Vec::new(), &[])?;
        assert_eq!(defaults.replay_horizon, DEFAULT_REPLAY_HORIZON);
        let bad = [("SLUICE_REPLAY_HORIZON".to_owned(), "soon".to_owned())];
        assert!(sluice_runtime::config::load::<Options>(None, bad, &[]).is_err());
        Ok(())
    }
}
