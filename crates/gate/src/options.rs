//! The gate's typed configuration (file < `SLUICE_*` env < flags).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sluice_bus::{Backoff, ConsumeOptions, NatsOptions};
pub use sluice_ledger::LedgerOptions;

/// Everything the gate needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    /// NATS connection and prefix.
    pub nats: NatsOptions,
    /// The ledger.
    pub ledger: LedgerOptions,
    /// The folder of declared workflows.
    pub workflows_dir: PathBuf,
    /// Where `/livez`, `/readyz` and `/metrics` are served (binary only).
    pub http_listen: Option<SocketAddr>,
    /// Handlers running at once per workflow.
    pub concurrency: usize,
    /// How long one pull waits for messages, in milliseconds.
    pub fetch_wait_ms: u64,
    /// How long in-flight handlers may finish after shutdown, in milliseconds.
    pub grace_ms: u64,
    /// How long the consumer is paused when a workflow's switch is off with
    /// `when_switched_off = "pause"`, in milliseconds. Short on purpose: the
    /// gate re-reads the switch when the pause ends (a watcher that resumes
    /// at once when the switch is turned back on is a later addition).
    pub switch_pause_ms: u64,
    /// The first redelivery backoff ceiling, in milliseconds.
    pub retry_base_ms: u64,
    /// The largest redelivery backoff ceiling, in milliseconds.
    pub retry_max_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            nats: NatsOptions::default(),
            ledger: LedgerOptions::default(),
            workflows_dir: PathBuf::from("workflows"),
            http_listen: Some(SocketAddr::from(([0, 0, 0, 0], 9093))),
            concurrency: 16,
            fetch_wait_ms: 5_000,
            grace_ms: 10_000,
            switch_pause_ms: 30_000,
            retry_base_ms: 1_000,
            retry_max_ms: 300_000,
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

    /// The kill-switch pause.
    pub fn switch_pause(&self) -> Duration {
        Duration::from_millis(self.switch_pause_ms.max(1))
    }
}
