//! Compensation requests: undoing a completed execution's effects.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sluice_core::State;

/// One completed effect to undo, as the executor journalled it. The
/// `COMPENSATING` journal entry's detail holds the list under `undo`, latest
/// effect first, so whoever resumes the compensation reads the same list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undo {
    /// The action's name in the workflow.
    pub action: String,
    /// The key the effect was made under.
    pub key: String,
}

impl Undo {
    /// The key the compensation of this effect runs under.
    pub fn compensation_key(&self) -> String {
        format!("{}{COMPENSATION_SUFFIX}", self.key)
    }

    /// The `undo` list of a `COMPENSATING` journal entry's detail; empty
    /// when it has none (or it was erased).
    pub fn list_of(detail: &serde_json::Value) -> Vec<Undo> {
        detail
            .get("undo")
            .and_then(|u| serde_json::from_value(u.clone()).ok())
            .unwrap_or_default()
    }
}

/// Appended to an effect's key to name its compensation.
pub const COMPENSATION_SUFFIX: &str = ":compensate";

/// The journal generation of a compensation a person asked for.
pub const REVERT_GENERATION: &str = "revert";

/// What [`crate::Store::revert_execution`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Revert {
    /// True when this request moved the execution to `COMPENSATING`.
    pub started: bool,
    /// The execution's state after the request.
    pub state: State,
    /// The effects to undo, latest first.
    pub undo: Vec<Undo>,
    /// Who asked first (or `executor` for a saga's own compensation).
    pub requested_by: String,
    /// Why, as first given.
    pub reason: String,
    /// When the compensation was first asked for.
    pub requested_at: DateTime<Utc>,
    /// The execution's workflow.
    pub workflow: String,
    /// Its upstream source.
    pub source: String,
    /// Its upstream event id.
    pub event_id: String,
    /// Its correlation id.
    pub correlation_id: String,
    /// When ingest accepted it.
    pub received_at: DateTime<Utc>,
}
