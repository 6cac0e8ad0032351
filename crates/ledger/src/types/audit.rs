//! The operator audit trail.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// One audited operator act (append-only).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// Increasing id.
    pub id: i64,
    /// When (database clock).
    pub at: DateTime<Utc>,
    /// Who: the authenticated identity's name.
    pub actor: String,
    /// The identity's role when acting.
    pub role: String,
    /// What was done (`dlq.replay.begin`, `review.approve`, ...).
    pub action: String,
    /// `dead_letter` or `review_item`.
    pub subject_kind: String,
    /// The subject's id.
    pub subject_id: String,
    /// Why.
    pub reason: String,
    /// The result.
    pub result: String,
    /// More detail.
    pub detail: Option<Value>,
}

/// A kill-switch change to audit (the switch itself lives in NATS KV).
#[derive(Debug, Clone, PartialEq)]
pub struct SwitchChange {
    /// `<workflow>` or `<workflow>.<action>`.
    pub key: String,
    /// `on`, `off` or `half_open`.
    pub state: String,
    /// Why.
    pub reason: String,
    /// `operator` or `breaker`.
    pub source: String,
    /// More detail (the rates behind a breaker trip).
    pub detail: Option<Value>,
}

/// The switch states an audit row may record.
pub const SWITCH_STATES: [&str; 3] = ["on", "off", "half_open"];
/// Who may change a switch: an operator, or a breaker.
pub const SWITCH_SOURCES: [&str; 2] = ["operator", "breaker"];

/// Fleet-wide counts of one workflow over a recent window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkflowStats {
    /// Gate decisions made.
    pub decided: u64,
    /// Of those, where the gate's `confidence` rule did not pass.
    pub low_confidence: u64,
    /// Actions completed.
    pub effects_completed: u64,
    /// Actions that failed (dead-lettered, effect unknown, stopped for review
    /// by the executor).
    pub effects_failed: u64,
    /// Review items decided.
    pub reviews_decided: u64,
    /// Of those, rejected.
    pub reviews_rejected: u64,
}
