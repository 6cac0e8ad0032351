//! The Sluice ingest service.
//!
//! Upstream events arrive as Standard Webhooks (`POST /v1/events/{source}`)
//! or on NATS (`<prefix>.in.<source>.>`). Each is authenticated, bounded,
//! parsed and checked against its source's schema; then, for every workflow
//! the source feeds, ingest derives the execution id
//! (`ExecutionId::derive(source, event id, workflow)`), records RECEIVED and
//! VALIDATED in the ledger and hands the envelope to the interpret stage with
//! `Nats-Msg-Id = <execution>:interpret:0`. A webhook is only answered 202
//! once both the ledger and JetStream have stored it; otherwise 503 with
//! `Retry-After`. Repeats of an event are answered with the original
//! execution ids and correlation id and record nothing new.
//!
//! ```text
//! Options ─► Service::new(options, env) ─► bind() ─► Bound::run(shutdown)
//! ```

pub mod accept;
pub mod error;
pub mod http;
pub mod nats_input;
pub mod options;
pub mod schedule;
pub mod service;
pub mod sources;

pub use accept::{Accepted, AcceptedExecution};
pub use error::Error;
pub use options::{LedgerOptions, Options, RateLimitOptions};
pub use service::{Bound, Service};
/// Standard Webhooks signatures, shared with the dead-letter service's
/// outgoing escalation webhooks.
pub use sluice_core::signature;
