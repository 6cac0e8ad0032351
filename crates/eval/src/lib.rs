//! Offline evaluation of a workflow's interpretation.
//!
//! A workflow keeps frozen cases in `workflows/<name>/eval/*.jsonl`: the
//! payload exactly as its source delivers it, a frozen reference time and
//! timezone, and what a correct system answers — the contract fields and the
//! gate's outcome (`auto`, `review`, `clarify` with the missing fields…).
//! [`EvalWorkflow::run`] sends each case down the interpreter's own path
//! ([`sluice_interpreter::LoadedWorkflow::interpret`]: prompt rendering,
//! backend, validation, one repair, fallback) with the case's reference time
//! instead of now, then through the gate's deterministic rules
//! ([`sluice_gate::rules::evaluate`]) with no switch off. No NATS, no ledger.
//!
//! The [`Report`] holds every case's per-field results; its [`Score`] is
//! compared with the last saved [`Baseline`] by [`judge`].
//!
//! Reviewers' corrections and rejections become candidate cases
//! ([`feedback`]) in a pending file; those a person accepts into
//! `eval/feedback.jsonl` are scored on their own, outside the baseline
//! ([`suite`]).

pub mod baseline;
pub mod case;
pub mod engine;
pub mod error;
pub mod feedback;
pub mod pending;
mod recorder;
pub mod report;
pub mod suite;

pub use baseline::{Baseline, Comparison, Delta, Judgement, Thresholds, judge};
pub use case::{Case, Expected, Outcome};
pub use engine::{BackendChoice, EvalWorkflow, ModelChoice};
pub use error::Error;
pub use feedback::{Feedback, FeedbackWorkflow, Reviewed};
pub use report::{CaseResult, FieldResult, FieldScore, Report, Score};
pub use suite::{Suite, load_cases, load_suite};
