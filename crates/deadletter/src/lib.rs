//! The Sluice dead-letter service.
//!
//! It consumes two streams with durable consumers of its own, so nothing is
//! lost while it is down:
//!
//! - `<prefix>.dlq.>` (the dead-letter stream): every dead letter there is
//!   indexed in the ledger with `RecordDeadLetter`, which is idempotent by
//!   the ORIGINAL stream and sequence. On a new entry the execution moves to
//!   `DEAD_LETTERED` and `<prefix>.events.dead_lettered.<workflow>` is
//!   announced.
//! - the advisories stream (JetStream max-deliveries and terminated
//!   advisories): an advisory is only a pointer, so the original message is
//!   read by stream sequence and dead-lettered with the same
//!   `dlq:<stream>:<seq>` id the bus uses. The dead-letter stream drops it if
//!   the bus already dead-lettered that message, and the first consumer
//!   indexes it otherwise: one message, one entry, whichever paths report it.
//!
//! It also watches review SLAs ([`review_sla`]): an open item past its due
//! time is announced once on `<prefix>.events.review_overdue.<workflow>`,
//! counted in the `sluice_review_overdue` gauge and escalated to its
//! workflow's owner on `<prefix>.events.escalated.<workflow>` and, when the
//! workflow declares one, a signed webhook delivered once ([`escalation`]).
//! And it keeps the backlog gauges ([`backlog`]), labelled with each
//! workflow's owner: open dead letters, the review backlog and its oldest
//! item's age, and every durable consumer's pending work.
//!
//! At start-up it refuses to run when the ledger's key retention is shorter
//! than the dead-letter stream's max age plus the replay horizon
//! ([`retention`]): a replay after its key was purged could repeat an effect.

mod advisory;
pub mod backlog;
mod consumers;
mod entry;
mod error;
pub mod escalation;
mod index;
mod options;
pub mod retention;
pub mod review_sla;
mod service;

pub use consumers::{ADVISORIES_CONSUMER, DEAD_LETTERS_CONSUMER};
pub use entry::new_dead_letter;
pub use error::Error;
pub use options::{DEFAULT_REPLAY_HORIZON, LedgerOptions, Options};
pub use service::{Service, run};
