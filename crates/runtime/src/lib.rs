//! Process plumbing shared by every Sluice binary.
//!
//! - [`config`]: typed configuration layered defaults < file < `SLUICE_*`
//!   environment < flags. Libraries never read the environment themselves;
//!   the binary hands its environment to the loader.
//! - [`telemetry`]: one guard per process for logs (JSON or pretty) and, when
//!   an OTLP endpoint is configured, trace export.
//! - [`propagation`]: W3C `traceparent` in and out of carriers (NATS
//!   headers, gRPC metadata, HTTP headers).
//! - [`health`]: the `/livez`, `/readyz` and `/metrics` HTTP server.
//! - [`recorder`]: the Prometheus recorder, set up from the metrics
//!   catalogue in `sluice-core`.
//! - [`shutdown`]: SIGTERM/SIGINT → `CancellationToken`, and draining a
//!   `TaskTracker` within a grace period.
//! - [`process`]: the standard `main` of a service binary, tying the above
//!   together.

pub mod config;
pub mod error;
pub mod health;
pub mod process;
pub mod propagation;
pub mod rate_limit;
pub mod recorder;
pub mod shutdown;
pub mod telemetry;

pub use error::Error;
pub use health::{HealthServer, Readiness};
pub use process::{BoxError, Process, service_main};
pub use telemetry::{LogFormat, TelemetryConfig, TelemetryGuard};
