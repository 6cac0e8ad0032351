//! The dead-letter index and its replays.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sluice_core::{ExecutionId, FailureClass};

/// Message headers as captured: name → values (NATS allows repeats).
pub type Headers = BTreeMap<String, Vec<String>>;

/// Where a dead letter is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeadLetterStatus {
    /// Waiting for an operator.
    Open,
    /// Republished at least once.
    Replayed,
    /// Given up on; never replayed.
    Discarded,
}

impl DeadLetterStatus {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            DeadLetterStatus::Open => "OPEN",
            DeadLetterStatus::Replayed => "REPLAYED",
            DeadLetterStatus::Discarded => "DISCARDED",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Open, Self::Replayed, Self::Discarded]
            .into_iter()
            .find(|status| status.as_str() == s)
    }
}

/// A message to index as a dead letter.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDeadLetter {
    /// The stream that held the original message.
    pub stream: String,
    /// The original message's sequence there (with `stream`, the dedupe key).
    pub stream_sequence: u64,
    /// The stage that failed.
    pub stage: String,
    /// The workflow.
    pub workflow: String,
    /// The execution, if known.
    pub execution_id: Option<ExecutionId>,
    /// The correlation id, or empty.
    pub correlation_id: String,
    /// How it failed.
    pub failure_class: FailureClass,
    /// Why, in one line.
    pub reason: String,
    /// More about the error.
    pub error_detail: Option<Value>,
    /// Deliveries.
    pub attempts: u32,
    /// First failure; `None` means now (database clock).
    pub first_failed_at: Option<DateTime<Utc>>,
    /// Last failure; `None` means now (database clock).
    pub last_failed_at: Option<DateTime<Utc>>,
    /// The original subject.
    pub subject: String,
    /// The original headers.
    pub headers: Headers,
    /// The original payload.
    pub payload: Vec<u8>,
    /// The dead-letter stream holding a copy, or empty.
    pub dlq_stream: String,
    /// The copy's sequence, or 0.
    pub dlq_sequence: u64,
}

/// One indexed dead letter.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// The entry's id.
    pub id: i64,
    /// The original stream.
    pub stream: String,
    /// The original stream sequence.
    pub stream_sequence: u64,
    /// The stage that failed.
    pub stage: String,
    /// The workflow.
    pub workflow: String,
    /// The execution, if known.
    pub execution_id: Option<uuid::Uuid>,
    /// The correlation id, or empty.
    pub correlation_id: String,
    /// How it failed.
    pub failure_class: FailureClass,
    /// Why.
    pub reason: String,
    /// More about the error.
    pub error_detail: Option<Value>,
    /// Deliveries.
    pub attempts: u32,
    /// First failure.
    pub first_failed_at: DateTime<Utc>,
    /// Last failure.
    pub last_failed_at: DateTime<Utc>,
    /// The original subject.
    pub subject: String,
    /// The original headers.
    pub headers: Headers,
    /// The original payload.
    pub payload: Vec<u8>,
    /// The dead-letter stream copy, or empty.
    pub dlq_stream: String,
    /// Its sequence, or 0.
    pub dlq_sequence: u64,
    /// Where it is.
    pub status: DeadLetterStatus,
    /// Replay generations reserved so far.
    pub replay_count: u32,
    /// When the ledger recorded it.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// What [`crate::Store::record_dead_letter`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedDeadLetter {
    /// The entry (new or existing).
    pub dead_letter: DeadLetter,
    /// False when the message had already been recorded.
    pub created: bool,
}

/// Filters and paging for listing dead letters; every filter is optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeadLetterFilter {
    /// Only this stage.
    pub stage: Option<String>,
    /// Only this workflow.
    pub workflow: Option<String>,
    /// Only this failure class.
    pub failure_class: Option<FailureClass>,
    /// Only reasons containing this text (case-insensitive).
    pub reason_contains: Option<String>,
    /// Only this status.
    pub status: Option<DeadLetterStatus>,
    /// Only this correlation id.
    pub correlation_id: Option<String>,
    /// Only recorded at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Only recorded before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Page size (0 means 50, at most 500).
    pub limit: u32,
    /// The previous page's `next_page_token`, or empty.
    pub page_token: String,
}

/// One page of dead letters.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetterPage {
    /// The entries, newest first.
    pub dead_letters: Vec<DeadLetter>,
    /// The token for the next page; empty on the last page.
    pub next_page_token: String,
}

/// First phase of a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeginReplay {
    /// The entry's id.
    pub id: i64,
    /// Why (required).
    pub reason: String,
    /// Names one run of a replay; reuse it to resume the run.
    pub batch_id: String,
    /// Refuse once the entry has been replayed this many times; 0 means
    /// [`DEFAULT_MAX_REPLAYS`].
    pub max_replays: u32,
}

/// The max-replay guard when a caller names none.
pub const DEFAULT_MAX_REPLAYS: u32 = 3;

/// How a replay's publish went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayOutcome {
    /// The broker acknowledged the republished message.
    Published,
    /// The publish failed; resuming may try again with the same generation.
    Failed,
}

impl ReplayOutcome {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            ReplayOutcome::Published => "published",
            ReplayOutcome::Failed => "failed",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Published, Self::Failed]
            .into_iter()
            .find(|outcome| outcome.as_str() == s)
    }
}

/// The answer to [`BeginReplay`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayTicket {
    /// The replay generation number `n`.
    pub generation: u32,
    /// True when this batch had already begun this entry.
    pub resumed: bool,
    /// What the batch recorded so far; `Published` means skip the entry.
    pub outcome: Option<ReplayOutcome>,
    /// The entry, with what to republish.
    pub dead_letter: DeadLetter,
    /// When this batch began this entry (database clock).
    pub begun_at: DateTime<Utc>,
}

impl ReplayTicket {
    /// The generation header value to publish with: `replay:<n>`.
    pub fn generation_label(&self) -> String {
        replay_generation(self.generation)
    }
}

/// `replay:<n>`, the generation of the n-th replay.
pub fn replay_generation(n: u32) -> String {
    format!("replay:{n}")
}

/// What a state change of a dead letter did.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetterChange {
    /// The entry afterwards.
    pub dead_letter: DeadLetter,
    /// False when nothing changed (a repeat).
    pub applied: bool,
}
