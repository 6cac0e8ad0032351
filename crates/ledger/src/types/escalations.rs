//! Escalation webhooks of review items past their SLA.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// One escalation webhook a caller now holds (see
/// `LedgerClient::claim_escalations`).
#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    /// The review item past its SLA.
    pub review_item_id: i64,
    /// The item's workflow.
    pub workflow: String,
    /// The JSON document to POST.
    pub payload: Value,
    /// Attempts made by earlier claimants.
    pub attempts: u32,
}

/// How a claimed escalation ended (see `LedgerClient::record_escalation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationOutcome {
    /// The review item.
    pub review_item_id: i64,
    /// The claimant recording it.
    pub claimant: String,
    /// Whether the receiver accepted it; false: failed for good.
    pub delivered: bool,
    /// Attempts made under this claim.
    pub attempts: u32,
    /// Why the last attempt failed, if one did.
    pub error: Option<String>,
}

/// Where an escalation webhook stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscalationState {
    /// Not delivered yet (waiting, or being delivered).
    Pending,
    /// The receiver accepted it.
    Delivered,
    /// Delivery failed for good.
    Failed,
}

impl EscalationState {
    /// The spelling on the wire and in `--json` output.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    /// Parses [`EscalationState::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// A review item's escalation webhook, as `sluice review show` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationStatus {
    /// Where it stands.
    pub state: EscalationState,
    /// Attempts made in all.
    pub attempts: u32,
    /// Why the last attempt failed, if one did.
    pub last_error: Option<String>,
    /// When it was opened (database clock).
    pub created_at: DateTime<Utc>,
    /// When it was delivered or given up.
    pub finished_at: Option<DateTime<Utc>>,
}
