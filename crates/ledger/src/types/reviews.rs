//! Review items: executions waiting for a person, and their decisions.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sluice_core::ExecutionId;

macro_rules! spelled {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// The stored spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Parses the stored spelling.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

spelled! {
    /// Why an item is in review.
    ReviewKind {
        /// The gate asked for a person (HUMAN_REVIEW_PENDING).
        Review = "review",
        /// Automation stopped and cannot decide (NEEDS_REVIEW).
        NeedsReview = "needs_review",
    }
}

spelled! {
    /// Where a review item is.
    ReviewStatus {
        /// Waiting for a decision.
        Open = "OPEN",
        /// Approved (possibly with corrections).
        Approved = "APPROVED",
        /// Rejected; the execution is CLOSED.
        Rejected = "REJECTED",
        /// Escalated; the execution is ESCALATED.
        Escalated = "ESCALATED",
    }
}

spelled! {
    /// A reviewer's decision.
    ReviewDecision {
        /// Go ahead (possibly with corrections).
        Approve = "approve",
        /// Do not act; close the execution.
        Reject = "reject",
        /// Hand to a higher level outside Sluice.
        Escalate = "escalate",
    }
}

/// A review item to open.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReviewItem {
    /// The execution waiting for a person.
    pub execution_id: ExecutionId,
    /// The generation of the pass that stopped (with the execution, the
    /// dedupe key).
    pub generation: String,
    /// Why it is in review.
    pub kind: ReviewKind,
    /// The handoff context (a JSON object).
    pub handoff: Value,
    /// When a decision is due, if the workflow has an SLA.
    pub sla_due_at: Option<DateTime<Utc>>,
}

/// One review item.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewItem {
    /// The item's id.
    pub id: i64,
    /// The execution.
    pub execution_id: uuid::Uuid,
    /// The generation of the pass that stopped.
    pub generation: String,
    /// The execution's workflow.
    pub workflow: String,
    /// The execution's correlation id.
    pub correlation_id: String,
    /// Why it is in review.
    pub kind: ReviewKind,
    /// The handoff context.
    pub handoff: Value,
    /// Where it is.
    pub status: ReviewStatus,
    /// When a decision is due.
    pub sla_due_at: Option<DateTime<Utc>>,
    /// When it was opened (database clock).
    pub created_at: DateTime<Utc>,
    /// When it was decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// Who decided (the authenticated identity).
    pub decided_by: Option<String>,
    /// The decider's reason.
    pub decision_reason: Option<String>,
    /// The corrected fields, if the approval corrected any.
    pub corrections: Option<Value>,
    /// Whether the decision corrected fields.
    pub manually_corrected: bool,
}

impl ReviewItem {
    /// The generation to resume the execution with after an approval:
    /// `review:<id>`.
    pub fn resume_generation(&self) -> String {
        format!("review:{}", self.id)
    }
}

/// What [`crate::Store::create_review_item`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedReviewItem {
    /// The item (new or existing).
    pub item: ReviewItem,
    /// False when it already existed.
    pub created: bool,
}

/// Filters and paging for the review queue; every filter is optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewFilter {
    /// Only this workflow.
    pub workflow: Option<String>,
    /// Only this status.
    pub status: Option<ReviewStatus>,
    /// Only items opened longer ago than this (database clock).
    pub older_than: Option<Duration>,
    /// Only open items past their SLA.
    pub overdue: bool,
    /// Page size (0 means 50, at most 500).
    pub limit: u32,
    /// The previous page's `next_page_token`, or empty.
    pub page_token: String,
}

/// One page of review items.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewPage {
    /// The items, oldest first.
    pub items: Vec<ReviewItem>,
    /// The token for the next page; empty on the last page.
    pub next_page_token: String,
}

/// A reviewer's decision on one item.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The item's id.
    pub id: i64,
    /// Approve, reject or escalate.
    pub decision: ReviewDecision,
    /// Why (required).
    pub reason: String,
    /// Corrected fields (a JSON object), for an approval.
    pub corrections: Option<Value>,
}

/// The answer to a [`Decision`].
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    /// The decided item, with its handoff.
    pub item: ReviewItem,
    /// The execution's state afterwards.
    pub state: sluice_core::State,
}

/// One review item as `sluice review show` needs it (see
/// `LedgerClient::review_item_detail`).
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewDetail {
    /// The item.
    pub item: ReviewItem,
    /// Its audit trail, oldest first.
    pub audit: Vec<crate::types::AuditRecord>,
    /// Its escalation webhook, if it went past its SLA and its workflow
    /// declares one.
    pub escalation: Option<crate::types::EscalationStatus>,
}

/// Open review items past their SLA (see `LedgerClient::overdue_reviews`).
#[derive(Debug, Clone, PartialEq)]
pub struct OverdueReviews {
    /// Overdue items whose event has not gone out, oldest due first.
    pub unannounced: Vec<ReviewItem>,
    /// Every open overdue item, counted per workflow.
    pub open_overdue: std::collections::BTreeMap<String, u64>,
}
