//! The Sluice notifier: tells the user what happened, once.
//!
//! It consumes `sluice.stage.notify.<workflow>` and handles two kinds of
//! message:
//!
//! - **a confirmation** after an action (the gate's verdict was `auto` or an
//!   approved `review`, and the executor recorded actions): the workflow's
//!   `[notify] template` is rendered over the contract plus `{external_id}`
//!   and `{execution_id}`, with a plain fallback when a placeholder cannot be
//!   filled; on success the execution moves `ACTION_COMPLETED → NOTIFIED →
//!   COMPLETED` and `completed` is announced with the external id;
//! - **a clarification** (verdict `clarify`): a question asking only for the
//!   missing fields; `CLARIFICATION_REQUESTED` is terminal, so nothing moves.
//!
//! Every send is guarded by the notifier's own ledger key
//! `<execution_id>:notify:<generation>` (Begin → send → Complete), separate
//! from the executor's: a redelivery after a sent message finds the key
//! completed and does not resend, and a failing channel is retried alone —
//! the notifier never publishes to the execute stage, so the action is never
//! re-run. After the last delivery or a permanent failure the execution ends
//! in `NOTIFY_FAILED` (terminal, the effect is kept).

pub mod channel;
pub mod error;
pub mod handler;
pub mod options;
pub mod render;
pub mod service;

pub use channel::{Channel, Outbound, SendError};
pub use error::Error;
pub use options::{ChannelOptions, LedgerOptions, Options};
pub use service::{Service, run};
