//! The gate's typed configuration (file < `SLUICE_*` env < flags).

use std::collections::BTreeMap;
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
    /// How long each pause of a switched-off workflow's consumer lasts, in
    /// milliseconds (with `when_switched_off = "pause"`). The switch guard
    /// renews it at half this while the switch stays off and resumes at once
    /// when it is turned on; this only bounds how long a pause outlives a
    /// gate that died.
    pub switch_pause_ms: u64,
    /// How often the breaker reads each workflow's rates, in milliseconds.
    pub breaker_every_ms: u64,
    /// The first redelivery backoff ceiling, in milliseconds.
    pub retry_base_ms: u64,
    /// The largest redelivery backoff ceiling, in milliseconds.
    pub retry_max_ms: u64,
    /// Where `http` context providers are asked, by provider name, instead
    /// of the workflow's `url` (a template over the contract's fields).
    pub context_urls: BTreeMap<String, String>,
    /// The database of each `postgres` context provider, by name (a
    /// read-only user's URL; never Sluice's own database).
    pub context_databases: BTreeMap<String, String>,
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
            breaker_every_ms: 10_000,
            retry_base_ms: 1_000,
            retry_max_ms: 300_000,
            context_urls: BTreeMap::new(),
            context_databases: BTreeMap::new(),
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

    /// How often the breaker checks.
    pub fn breaker_every(&self) -> Duration {
        Duration::from_millis(self.breaker_every_ms.max(100))
    }

    /// How long each kill-switch pause lasts.
    pub fn switch_pause(&self) -> Duration {
        Duration::from_millis(self.switch_pause_ms.max(1))
    }
}
