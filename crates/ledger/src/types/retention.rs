//! Retention of idempotency keys and erasure of personal payload.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// How long finished keys are kept unless configured otherwise: longer than
/// the default dead-letter stream max age (30 days) plus the default replay
/// horizon (7 days), so the defaults pass the dead-letter service's check.
pub const DEFAULT_KEY_RETENTION: Duration = Duration::from_secs(45 * 24 * 60 * 60);

/// The ledger's settings that other services check theirs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// How long a completed or permanently failed key is kept after its last
    /// change before the purge removes it.
    pub key_retention: Duration,
}

/// One message in a NATS stream, to be deleted after an erasure.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StreamMessage {
    /// The stream.
    pub stream: String,
    /// The message's sequence in it.
    pub sequence: u64,
}

/// What an erasure removed (or, for a dry run, would remove).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Erasure {
    /// False when the execution had been erased before, and for a dry run.
    pub applied: bool,
    /// When the payload was erased; `None` for a dry run of an execution not
    /// erased yet.
    pub erased_at: Option<DateTime<Utc>>,
    /// Journal entries whose detail was scrubbed.
    pub journal_entries: u32,
    /// Review items whose handoff was replaced.
    pub review_items: u32,
    /// Idempotency keys whose stored result was replaced.
    pub keys: u32,
    /// Dead letters whose payload and headers were removed.
    pub dead_letters: u32,
    /// The dead letters' messages in the streams, for the caller to delete.
    pub messages: Vec<StreamMessage>,
}
