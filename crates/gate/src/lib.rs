//! The Sluice gate: the model proposes, the gate decides.
//!
//! The gate consumes `sluice.stage.gate.<workflow>`, evaluates a fixed table
//! of named, deterministic rules over the interpreter's *typed* contract
//! fields (never its free text, so injected instructions cannot widen what is
//! allowed), reads the workflow's kill switches live, records the decision in
//! the ledger (`GATE_DECIDED`) and routes the execution:
//!
//! | verdict | state | then |
//! |---|---|---|
//! | auto | `AUTO_ACTION_PENDING` | publish to the execute stage |
//! | review | `HUMAN_REVIEW_PENDING` (or `NEEDS_REVIEW` below the review threshold) | announce with the handoff context |
//! | clarify | `CLARIFICATION_REQUESTED` (terminal) | park the partial contract, announce, publish to notify |
//! | reject | `CLOSED` | announce |
//!
//! See [`rules`] for the rules and the policy choices they implement.

pub mod breaker;
pub mod clock;
pub use sluice_context as context;
pub mod drift;
pub mod error;
pub mod handler;
pub mod handoff;
pub mod options;
pub mod rules;
pub mod service;
pub mod template;

pub use clock::Clock;
pub use error::Error;
pub use options::{LedgerOptions, Options};
pub use rules::{Evaluation, Facts, Policy, Route};
pub use service::{Service, run};
