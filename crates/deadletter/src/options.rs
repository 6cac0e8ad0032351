//! The dead-letter service's typed configuration (file < `SLUICE_*` env <
//! flags).

use std::net::SocketAddr;
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
}

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
        }
    }
}

impl Options {
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
