//! The NATS JetStream layer of Sluice.
//!
//! - [`provision`](provision::provision) creates and reconciles the streams,
//!   the kill-switch bucket and one durable pull consumer per (stage,
//!   workflow) and per ingest source, from a typed [`Topology`].
//! - [`Publisher`] publishes stage hand-offs with
//!   `Nats-Msg-Id = <execution>:<stage>:<generation>` and the Sluice headers,
//!   and waits for JetStream to store them.
//! - [`ConsumeLoop`] runs a [`Handler`] over a durable consumer. Handlers
//!   return an [`Outcome`]; the bus alone turns it into a double ack, a nak
//!   with backoff, or a dead letter (`dlq:<stream>:<seq>`) followed by `term`.
//! - [`AdvisoryDeadLetter`] dead-letters what JetStream's max-deliveries and
//!   terminated advisories report, with the same dedupe id, so the two paths
//!   never create two entries for one message.
//! - [`control`] pauses and resumes consumers (kill switches, outages).
//! - [`Switches`] reads and writes the kill switches; a [`SwitchGuard`]
//!   keeps a stage's consumers paused while one holds their workflow.
//! - [`observe`] records prevented duplicates and consumer backlogs.
//! - [`find_by_msg_id`] finds a stored message by its `Nats-Msg-Id` after
//!   the broker's dedupe window has forgotten it.

pub mod backoff;
pub mod bus;
pub mod consume;
pub mod control;
pub mod conversations;
pub mod dead_letter;
pub mod delivery;
pub mod error;
pub mod events;
pub mod find;
pub mod observe;
pub mod options;
pub mod outcome;
pub mod provision;
pub mod publish;
mod settle;
pub mod switch_guard;
pub mod switches;
pub mod topology;
pub mod trace;
pub mod worker;

pub use backoff::Backoff;
pub use bus::Bus;
pub use consume::{ConsumeLoop, ConsumeOptions, Stopped};
pub use control::PauseState;
pub use conversations::{Conversations, PendingRequest};
pub use dead_letter::{AdvisoryDeadLetter, DeadLetter, DeliveryAdvisory};
pub use delivery::{Delivery, Handler, HandlerError};
pub use error::Error;
pub use events::ExecutionEvent;
pub use find::find_by_msg_id;
pub use options::{NatsOptions, NatsTlsOptions};
pub use outcome::Outcome;
pub use provision::{Provisioned, provision};
pub use publish::{Published, Publisher, StageHeaders};
pub use switch_guard::{GuardHandle, SwitchGuard};
pub use switches::{Admission, KeyedSwitch, Switch, SwitchState, Switches};
pub use topology::{ConsumerSettings, StreamSettings, StreamsConfig, Topology};
pub use worker::run_stage;
