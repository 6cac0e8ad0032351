//! Domain types shared by the store, the gRPC server and the typed client.
//!
//! The store answers in these types, the server converts them to protobuf and
//! the client converts them back, so callers never handle generated types.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sluice_core::{ExecutionId, State};

/// A claim on an idempotency key before a side effect.
#[derive(Debug, Clone, PartialEq)]
pub struct BeginRequest {
    /// The workflow's idempotency key.
    pub key: String,
    /// A digest of the action's arguments.
    pub fingerprint: String,
    /// Who claims the key (service replica).
    pub owner: String,
    /// How long the claim lasts unless renewed (database clock).
    pub lease: Duration,
    /// The execution the effect belongs to.
    pub execution_id: Option<ExecutionId>,
    /// Whether the target deduplicates by the key itself.
    pub target_honours_keys: bool,
    /// The review that approved a superseding fingerprint, if any.
    pub supersede_review: Option<String>,
}

/// The ledger's answer to [`BeginRequest`]: one row of the key-state table.
#[derive(Debug, Clone, PartialEq)]
pub enum BeginOutcome {
    /// Go ahead: the caller holds the key with this fencing token.
    Started {
        /// Present it with every later call for the key.
        fencing_token: i64,
        /// Where a recoverable failure said to resume from.
        resume_from: Option<Value>,
        /// 1 for the first attempt, counting every restart.
        attempt: u32,
    },
    /// Someone else holds a live lease; retry later, never run it twice.
    InProgress {
        /// The current holder.
        owner: String,
        /// When its lease runs out.
        lease_expires_at: DateTime<Utc>,
    },
    /// Already done: the stored result, no effect ("prevented duplicate").
    Completed {
        /// The stored result, if any.
        result: Option<Value>,
    },
    /// The effect may have been attempted and the target ignores keys.
    Unknown {
        /// Why the outcome is unknown.
        reason: String,
        /// The holder whose lease expired.
        last_owner: String,
    },
    /// The effect failed for good; escalate to review.
    FailedPermanent {
        /// The recorded reason.
        reason: String,
    },
    /// Same key, different arguments; escalate to review.
    Conflict {
        /// The fingerprint the ledger holds.
        recorded_fingerprint: String,
    },
}

/// How [`crate::Store::fail`] records a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The next Begin starts again from the recovery point.
    Recoverable,
    /// The next Begin answers [`BeginOutcome::FailedPermanent`].
    Permanent,
}

/// The states of an idempotency key, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Claimed under a lease.
    InProgress,
    /// Done, result stored.
    Completed,
    /// Failed, may start again.
    FailedRecoverable,
    /// Failed for good.
    FailedPermanent,
}

impl KeyState {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyState::InProgress => "in_progress",
            KeyState::Completed => "completed",
            KeyState::FailedRecoverable => "failed_recoverable",
            KeyState::FailedPermanent => "failed_permanent",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [
            KeyState::InProgress,
            KeyState::Completed,
            KeyState::FailedRecoverable,
            KeyState::FailedPermanent,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }
}

/// One idempotency key as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRecord {
    /// The key.
    pub key: String,
    /// The recorded fingerprint.
    pub fingerprint: String,
    /// The stored state spelling (see [`KeyState`]).
    pub state: String,
    /// The last holder.
    pub owner: String,
    /// The current fencing token.
    pub fencing_token: i64,
    /// The lease expiry.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// Whether an effect may have been attempted under the current attempt.
    pub effect_attempted: bool,
    /// The stored result.
    pub result: Option<Value>,
    /// The recorded recovery point.
    pub recovery_point: Option<Value>,
    /// The recorded failure reason.
    pub failure_reason: Option<String>,
    /// How many times the key was started.
    pub attempts: i32,
    /// The review that last superseded the fingerprint.
    pub superseded_by_review: Option<String>,
    /// The execution the key belongs to.
    pub execution_id: Option<uuid::Uuid>,
    /// When the key was first claimed.
    pub created_at: DateTime<Utc>,
    /// When the key last changed.
    pub updated_at: DateTime<Utc>,
}

/// A compare-and-set move of an execution's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The execution.
    pub execution_id: ExecutionId,
    /// The state the caller saw; `None` creates the execution (`to` must be
    /// [`State::Received`]).
    pub from: Option<State>,
    /// The state to move to.
    pub to: State,
    /// The stage making the move, or empty.
    pub stage: String,
    /// The stage generation, or empty.
    pub generation: String,
    /// Journal detail.
    pub detail: Option<Value>,
    /// Sets the exception reason.
    pub exception_reason: Option<String>,
    /// Sets the final outcome.
    pub final_outcome: Option<String>,
    /// On creation: where the execution came from.
    pub origin: Origin,
}

/// Where an execution came from; used when a transition creates it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The workflow.
    pub workflow: String,
    /// The upstream source.
    pub source: String,
    /// The upstream event id.
    pub event_id: String,
    /// The correlation id.
    pub correlation_id: String,
}

/// How a path answers a step that finds the execution already in its
/// target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// As a redelivery: not applied, the rest of the path goes on.
    Answer,
    /// As a refusal: the caller's path is right only if it made every move
    /// itself (the gate's decision with its route).
    Refuse,
}

/// What a [`Transition`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionOutcome {
    /// True if it moved the execution and wrote one journal row.
    pub applied: bool,
    /// The execution's state afterwards.
    pub state: State,
    /// The journal sequence number, when applied.
    pub seq: Option<i64>,
}

/// One execution row.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// The execution id.
    pub execution_id: uuid::Uuid,
    /// The workflow.
    pub workflow: String,
    /// The upstream source.
    pub source: String,
    /// The upstream event id.
    pub event_id: String,
    /// The correlation id.
    pub correlation_id: String,
    /// The current state (stored spelling).
    pub state: String,
    /// When ingest recorded it.
    pub received_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// How many times a stage was retried.
    pub retry_count: i32,
    /// Why it stopped or failed.
    pub exception_reason: Option<String>,
    /// The final outcome.
    pub final_outcome: Option<String>,
    /// Where the payload is stored.
    pub payload_ref: Option<String>,
    /// Where the model output is stored.
    pub model_output_ref: Option<String>,
    /// The interpretation's confidence.
    pub confidence: Option<f64>,
    /// The gate's decision.
    pub gate_decision: Option<String>,
    /// The actions attempted.
    pub actions_attempted: Option<Value>,
    /// Ids returned by external systems.
    pub external_write_ids: Option<Value>,
    /// When its personal payload was erased, if it was.
    pub erased_at: Option<DateTime<Utc>>,
}

/// One applied transition.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    /// 1, 2, 3, ... per execution.
    pub seq: i64,
    /// The state before; `None` for the creating entry.
    pub from_state: Option<String>,
    /// The state after.
    pub to_state: String,
    /// When (database clock).
    pub at: DateTime<Utc>,
    /// The stage that made the move.
    pub stage: String,
    /// The stage generation.
    pub generation: String,
    /// The detail.
    pub detail: Option<Value>,
    /// Who made the move.
    pub actor: String,
}

/// Filters and paging for listing executions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutionFilter {
    /// Only this workflow.
    pub workflow: Option<String>,
    /// Only this state.
    pub state: Option<State>,
    /// Only received at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only received before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Page size (clamped to 1..=500; 0 means 50).
    pub limit: u32,
    /// The previous page's `next_page_token`, or empty.
    pub page_token: String,
}

/// One page of executions.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionPage {
    /// The executions, newest first.
    pub executions: Vec<Execution>,
    /// The token for the next page; empty on the last page.
    pub next_page_token: String,
}

mod audit;
mod backlog;
mod compensation;
mod dead_letters;
mod escalations;
mod retention;
mod reviews;

pub use audit::{AuditRecord, SWITCH_SOURCES, SWITCH_STATES, SwitchChange, WorkflowStats};
pub use backlog::{Backlog, DeadLetterBacklog, ReviewBacklog};
pub use compensation::{COMPENSATION_SUFFIX, REVERT_GENERATION, Revert, Undo};
pub use dead_letters::{
    BeginReplay, DEFAULT_MAX_REPLAYS, DeadLetter, DeadLetterChange, DeadLetterFilter,
    DeadLetterPage, DeadLetterStatus, Headers, NewDeadLetter, RecordedDeadLetter, ReplayOutcome,
    ReplayTicket, replay_generation,
};
pub use escalations::{Escalation, EscalationOutcome, EscalationState, EscalationStatus};
pub use retention::{DEFAULT_KEY_RETENTION, Erasure, Settings, StreamMessage};
pub use reviews::{
    CreatedReviewItem, Decided, Decision, NewReviewItem, OverdueReviews, ReviewDecision,
    ReviewDetail, ReviewFilter, ReviewItem, ReviewKind, ReviewPage, ReviewStatus,
};
