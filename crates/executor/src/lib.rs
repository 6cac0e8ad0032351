//! The Sluice executor: the only stage that changes other systems.
//!
//! It consumes `sluice.stage.execute.<workflow>` (an envelope the gate let
//! through, or a reviewer approved) and, for each declared action in saga
//! order, claims the action's idempotency key in the ledger before anything
//! happens:
//!
//! - `STARTED` → record the intention (`MarkAttempted`), call the connector
//!   with `Idempotency-Key: <key>` (quick retries with `backon`, lease
//!   heartbeats), then `Complete` with `{status, body, external_id}`;
//! - `COMPLETED` → no call: the stored result is reused (a prevented
//!   duplicate, counted in `sluice_prevented_duplicates_total{layer="ledger"}`);
//! - `IN_PROGRESS` → retry after the holder's lease, never run twice;
//! - `UNKNOWN` and ambiguous answers → the action's `on_ambiguous` policy
//!   (probe the target by key, or `EFFECT_UNKNOWN → NEEDS_REVIEW`); never guess;
//! - `FAILED_PERMANENT`, `CONFLICT` and 4xx → `NEEDS_REVIEW`.
//!
//! Temporary failures become `FAILED_RETRYABLE` and a nak with delay, then a
//! dead letter once the policy's attempts are used up. When every action is
//! done the execution moves to `ACTION_COMPLETED` and the envelope, with one
//! [`ActionRecord`](sluice_core::pipeline::ActionRecord) per action, goes to
//! the notify stage.
//!
//! The request body is the contract mapped by the action's `settings.body`
//! table (`target_field = "{contract_field}"`), or the contract as it is when
//! there is no table; see [`settings`]. Key and body placeholders are read
//! from the contract, then from the upstream payload's top-level fields.

mod action;
mod attempt;
mod compensate;
pub mod connector;
pub mod error;
mod handler;
mod journal;
pub mod options;
pub mod render;
mod service;
pub mod settings;
mod verify;

pub use error::{Error, Result};
pub use options::{Failpoint, LedgerOptions, Options, UNSAFE_SKIP_LEDGER_GUARD};
pub use service::{Executor, run};
