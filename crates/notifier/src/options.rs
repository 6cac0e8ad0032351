//! The notifier's typed configuration (file < `SLUICE_*` env < flags).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sluice_bus::{Backoff, ConsumeOptions, NatsOptions};
pub use sluice_ledger::LedgerOptions;

/// One outbound channel, named by a workflow's `[notify] channel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChannelOptions {
    /// POST `{to, text, execution_id}` as JSON, with an `Idempotency-Key`.
    Http {
        /// The outbound messages endpoint.
        url: String,
        /// Time limit per request, in milliseconds.
        #[serde(default = "default_timeout_ms")]
        timeout_ms: u64,
        /// Whether the endpoint deduplicates by `Idempotency-Key`.
        #[serde(default)]
        honours_idempotency_key: bool,
        /// The contract field holding the recipient.
        #[serde(default = "default_recipient")]
        recipient_field: String,
    },
    /// Publish the same JSON to a JetStream subject with `Nats-Msg-Id`.
    Nats {
        /// The subject (captured by a stream the receiver owns).
        subject: String,
        /// The contract field holding the recipient.
        #[serde(default = "default_recipient")]
        recipient_field: String,
    },
}

fn default_timeout_ms() -> u64 {
    5_000
}

fn default_recipient() -> String {
    "sender".to_owned()
}

/// Everything the notifier needs.
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
    /// Outbound channels by name (`channels.whatsapp = { kind = "http", url = "…" }`).
    pub channels: BTreeMap<String, ChannelOptions>,
    /// Lease on a notification key while sending, in milliseconds.
    pub lease_ms: u64,
    /// Handlers running at once per workflow.
    pub concurrency: usize,
    /// How long one pull waits for messages, in milliseconds.
    pub fetch_wait_ms: u64,
    /// How long in-flight sends may finish after shutdown, in milliseconds.
    pub grace_ms: u64,
    /// The first redelivery backoff ceiling, in milliseconds.
    pub retry_base_ms: u64,
    /// The largest redelivery backoff ceiling, in milliseconds.
    pub retry_max_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        let whatsapp = ChannelOptions::Http {
            url: "http://127.0.0.1:8090/v1/messages".to_owned(),
            timeout_ms: default_timeout_ms(),
            honours_idempotency_key: false,
            recipient_field: default_recipient(),
        };
        Self {
            nats: NatsOptions::default(),
            ledger: LedgerOptions::default(),
            workflows_dir: PathBuf::from("workflows"),
            http_listen: Some(SocketAddr::from(([0, 0, 0, 0], 9095))),
            channels: BTreeMap::from([("whatsapp".to_owned(), whatsapp)]),
            lease_ms: 30_000,
            concurrency: 16,
            fetch_wait_ms: 5_000,
            grace_ms: 10_000,
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

    /// The lease on a notification key.
    pub fn lease(&self) -> Duration {
        Duration::from_millis(self.lease_ms.max(1_000))
    }
}
