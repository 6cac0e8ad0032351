//! Typed configuration of the ingest service. Only the binary reads the
//! environment; it loads these with `sluice_runtime::config::load` and hands
//! the environment map to [`Service::new`](crate::Service::new) for the
//! secrets the sources reference.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sluice_bus::NatsOptions;
use sluice_ledger::ClientOptions;
pub use sluice_ledger::LedgerOptions;

/// Everything the ingest service needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    /// How to reach NATS.
    pub nats: NatsOptions,
    /// How to reach the ledger.
    pub ledger: LedgerOptions,
    /// The folder of `sources/<name>.toml` (schemas are relative to it).
    pub sources_dir: PathBuf,
    /// Where the HTTP API listens (port 0 picks a free port).
    pub http_listen: SocketAddr,
    /// Where `/livez`, `/readyz` and `/metrics` are served (binary only).
    pub health_listen: SocketAddr,
    /// The service's own rate limit.
    pub rate_limit: RateLimitOptions,
    /// Manual triggers (`POST /v1/workflows/<name>/trigger`) allowed per
    /// caller (the token's name); over it, 429 with `Retry-After`.
    pub trigger_rate: RateLimitOptions,
    /// Requests (HTTP) and messages (each NATS source) handled at once;
    /// beyond it HTTP answers 503 with `Retry-After`.
    pub max_in_flight: usize,
    /// How long a publish may wait for JetStream's acknowledgement before
    /// the request is answered 503, in milliseconds.
    pub publish_timeout_ms: u64,
    /// The `Retry-After` sent with 503 when NATS or the ledger is down, in
    /// seconds.
    pub retry_after_secs: u64,
    /// How long in-flight work may finish after shutdown, in milliseconds.
    pub shutdown_grace_ms: u64,
    /// How long a webhook's body may take to arrive once its headers have,
    /// in milliseconds; slower senders (slow-loris) get 408.
    pub body_timeout_ms: u64,
    /// How often scheduled sources are looked at, in milliseconds (a slot
    /// fires within about this much of its time).
    pub schedule_tick_ms: u64,
    /// How long a replica holds a schedule's lease without renewing it, in
    /// milliseconds: how soon another replica takes over a dead one's
    /// schedules.
    pub schedule_lease_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            nats: NatsOptions::default(),
            ledger: LedgerOptions::default(),
            sources_dir: PathBuf::from("sources"),
            http_listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            health_listen: SocketAddr::from(([127, 0, 0, 1], 9081)),
            rate_limit: RateLimitOptions::default(),
            trigger_rate: RateLimitOptions {
                per_second: 1.0,
                burst: 20,
            },
            max_in_flight: 256,
            publish_timeout_ms: 5_000,
            retry_after_secs: 5,
            shutdown_grace_ms: 10_000,
            body_timeout_ms: 10_000,
            schedule_tick_ms: 1_000,
            schedule_lease_ms: 10_000,
        }
    }
}

impl Options {
    /// The publish acknowledgement timeout.
    pub fn publish_timeout(&self) -> Duration {
        Duration::from_millis(self.publish_timeout_ms)
    }

    /// The ledger client's options. Unless configured, ledger calls are
    /// short: a webhook sender is waiting, and a slow ledger is answered 503
    /// rather than held open. Fails when a TLS file cannot be read.
    pub fn ledger_client(&self) -> sluice_ledger::Result<ClientOptions> {
        self.ledger
            .client_options_with(Duration::from_millis(3_000), 2)
    }

    /// The body read timeout.
    pub fn body_timeout(&self) -> Duration {
        Duration::from_millis(self.body_timeout_ms.max(1))
    }

    /// The shutdown grace period.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }
}

/// A token bucket per source: `burst` requests at once, refilled at
/// `per_second`. Over it, webhooks are answered 429 with `Retry-After`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimitOptions {
    /// Sustained requests per second per source; 0 disables the limit.
    pub per_second: f64,
    /// Requests allowed in a burst.
    pub burst: u32,
}

impl Default for RateLimitOptions {
    fn default() -> Self {
        Self {
            per_second: 200.0,
            burst: 400,
        }
    }
}
