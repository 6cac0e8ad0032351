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
