//! The executor's typed configuration (defaults < file < `SLUICE_*` env < flags).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sluice_bus::{Backoff, ConsumeOptions, NatsOptions};
pub use sluice_ledger::LedgerOptions;

/// A deliberate crash point, for tests and chaos experiments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failpoint {
    /// `std::process::abort()` right after the target answered and before
    /// the ledger's `Complete`: what a SIGKILL at the worst moment looks like.
    AbortAfterEffect,
    /// In-process variant: the handler stops right after the target answered
    /// without completing or failing the key (its lease then expires), and
    /// the delivery is retried. Fires once per executor instance.
    StopAfterEffect,
}

/// Everything the executor needs.
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
    /// The first redelivery backoff ceiling, in milliseconds.
    pub retry_base_ms: u64,
    /// The largest redelivery backoff ceiling, in milliseconds.
    pub retry_max_ms: u64,
    /// The lease on an idempotency key, in milliseconds; renewed by
    /// heartbeats while a call runs.
    pub lease_ms: u64,
    /// Quick in-process retries of a temporary failure within one delivery
    /// (bounded by the action's `retry.max_attempts` overall).
    pub quick_retries: u32,
    /// The owner recorded on keys; `<hostname>/<pid>/<uuid>` when unset.
    pub owner: Option<String>,
    /// Connector settings that override the workflow's, per action name
    /// (e.g. the booking service's URL in `sluice dev`).
    pub action_settings: BTreeMap<String, toml::Table>,
    /// A deliberate crash point (tests and chaos only).
    pub failpoint: Option<Failpoint>,
    /// How long each pause of a switched-off workflow's consumer lasts, in
    /// milliseconds; renewed while the switch stays off, lifted at once when
    /// it is turned on.
    pub switch_pause_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            nats: NatsOptions::default(),
            ledger: LedgerOptions::default(),
            workflows_dir: PathBuf::from("workflows"),
            http_listen: Some(SocketAddr::from(([0, 0, 0, 0], 9094))),
            concurrency: 16,
            fetch_wait_ms: 5_000,
            grace_ms: 10_000,
            retry_base_ms: 1_000,
            retry_max_ms: 300_000,
            lease_ms: 30_000,
            quick_retries: 2,
            owner: None,
            action_settings: BTreeMap::new(),
            failpoint: None,
            switch_pause_ms: 30_000,
        }
    }
}

impl Options {
    /// How long each kill-switch pause lasts.
    pub fn switch_pause(&self) -> Duration {
        Duration::from_millis(self.switch_pause_ms.max(1))
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

    /// The key lease.
    pub fn lease(&self) -> Duration {
        Duration::from_millis(self.lease_ms.max(100))
    }
}
