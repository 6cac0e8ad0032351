//! Approving a review item, as `sluice review approve` and the console do.
//!
//! In two steps, so a caller can stop between them: [`prepare`] reads the
//! item and checks the corrections (the contract, the gate's deterministic
//! rules, no change to a field that identifies the request) and decides
//! nothing; [`Prepared::commit`] records the approval and resumes the same
//! execution at the execute stage with generation `review:<id>`. The execute
//! stage's idempotency key and the message's `Nats-Msg-Id` make a second
//! resume harmless, so committing an item already approved resumes it
//! again: the way out when NATS failed after the decision.

mod check;

use serde_json::{Map, Value};
use sluice_bus::Bus;
use sluice_core::pipeline::Verdict;
use sluice_core::{Envelope, ExecutionId, Stage, State};
use sluice_ledger::{Decision, LedgerClient, ReviewDecision, ReviewItem, ReviewStatus};

pub use check::{FieldError, check};

use crate::catalog::Catalog;

/// Why an approval was refused or went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ApproveError {
    /// The item stopped before the request was understood.
    #[error(
        "review item {0} stopped before the request was understood, so there is nothing to resume; reject or escalate it"
    )]
    NotResumable(i64),
    /// The corrections do not hold; nothing was decided.
    #[error("the corrected request breaks the workflow's rules: {}; nothing was decided", list(.0))]
    Invalid(Vec<FieldError>),
    /// The workflow's definition is not available.
    #[error("{0}")]
    Workflow(String),
    /// The ledger refused or failed a call.
    #[error(transparent)]
    Ledger(#[from] sluice_ledger::Error),
    /// The ledger journaled a state this build does not know.
    #[error("the ledger holds an unknown state {0:?}")]
    UnknownState(String),
    /// Approved, but the resume message could not be published.
    #[error("approved, but resuming the execution failed ({0}); approve again to resume it")]
    Resume(String),
}

fn list(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// An approval asked for.
#[derive(Debug, Clone, Default)]
pub struct Approval {
    /// The review item.
    pub id: i64,
    /// Why (kept with the decision).
    pub reason: String,
    /// Corrected contract fields; empty: approve as understood.
    pub corrections: Map<String, Value>,
}

/// A checked approval, not yet decided.
#[derive(Debug, Clone)]
pub struct Prepared {
    item: ReviewItem,
    envelope: Envelope,
    decision: Option<Decision>,
}

/// What [`Prepared::commit`] did.
#[derive(Debug, Clone)]
pub struct Approved {
    /// The item as decided.
    pub item: ReviewItem,
    /// The execution's state after the decision.
    pub state: State,
}

/// The envelope an item would resume, if it has an understood request.
pub fn resumable(item: &ReviewItem) -> Result<Envelope, ApproveError> {
    let envelope: Envelope = serde_json::from_value(item.handoff["envelope"].clone())
        .map_err(|_| ApproveError::NotResumable(item.id))?;
    if envelope.interpretation.is_none() {
        return Err(ApproveError::NotResumable(item.id));
    }
    Ok(envelope)
}

/// Reads item `approval.id` and checks the corrections; decides nothing.
/// An item already approved keeps the corrections it was approved with.
pub async fn prepare(
    ledger: &LedgerClient,
    catalog: &Catalog,
    approval: Approval,
) -> Result<Prepared, ApproveError> {
    let (item, _) = ledger.get_review_item(approval.id).await?;
    let mut envelope = resumable(&item)?;
    let corrections = if item.status == ReviewStatus::Approved {
        item.corrections.clone()
    } else {
        (!approval.corrections.is_empty()).then_some(Value::Object(approval.corrections))
    };
    if let Some(Value::Object(fields)) = &corrections {
        let workflow = catalog
            .workflow(&envelope.workflow)
            .map_err(ApproveError::Workflow)?;
        check(&mut envelope, fields, &workflow).map_err(ApproveError::Invalid)?;
    }
    // Executions resume from HUMAN_APPROVED, which the executor enters from
    // a review verdict.
    if let Some(decision) = envelope.decision.as_mut() {
        decision.verdict = Verdict::Review;
    }
    let decision = (item.status != ReviewStatus::Approved).then_some(Decision {
        id: item.id,
        decision: ReviewDecision::Approve,
        reason: approval.reason,
        corrections,
    });
    Ok(Prepared {
        item,
        envelope,
        decision,
    })
}

impl Prepared {
    /// The item as read.
    pub fn item(&self) -> &ReviewItem {
        &self.item
    }

    /// Records the approval (unless the item was approved already) and
    /// resumes the execution at the execute stage.
    pub async fn commit(self, ledger: &LedgerClient, bus: &Bus) -> Result<Approved, ApproveError> {
        let (item, state) = match &self.decision {
            Some(decision) => {
                let decided = ledger.decide_review(decision).await?;
                (decided.item, decided.state)
            }
            None => {
                let id = ExecutionId::from_uuid(self.item.execution_id);
                let (execution, _) = ledger.get_execution(id).await?;
                let state = execution
                    .state
                    .parse()
                    .map_err(|_| ApproveError::UnknownState(execution.state.clone()))?;
                (self.item, state)
            }
        };
        bus.publisher()
            .envelope_to_stage(
                &self.envelope,
                Stage::Execute,
                &item.resume_generation(),
                None,
            )
            .await
            .map_err(|e| ApproveError::Resume(e.to_string()))?;
        Ok(Approved { item, state })
    }
}
