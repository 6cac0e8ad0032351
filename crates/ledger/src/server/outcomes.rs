//! Metrics of what executions and reviews came to, recorded where the
//! ledger applies the move, so each is counted exactly once fleet-wide.

use sluice_core::State;
use sluice_core::metrics::{
    ESCALATIONS, EXECUTIONS_FINISHED, MANUAL_CORRECTIONS, REVIEW_DECISIONS, TIME_TO_RESOLUTION,
};
use uuid::Uuid;

use super::LedgerService;
use crate::types::{Decided, Decision, ReviewDecision};

impl LedgerService {
    /// After a transition was applied: an execution that reached a terminal
    /// state is counted, with the time it took since its receipt.
    pub(super) async fn observe_transition(&self, execution_id: Uuid, to: State) {
        if !to.is_terminal() {
            return;
        }
        let outcome = to.as_str().to_ascii_lowercase();
        match self.store.resolution(execution_id).await {
            Ok(Some((workflow, seconds))) => {
                metrics::counter!(EXECUTIONS_FINISHED.name,
                    "workflow" => workflow.clone(), "outcome" => outcome.clone())
                .increment(1);
                metrics::histogram!(TIME_TO_RESOLUTION.name,
                    "workflow" => workflow, "outcome" => outcome)
                .record(seconds);
            }
            Ok(None) => {}
            // The move is made; only its metric is lost.
            Err(e) => tracing::warn!(error = %e, %execution_id, "cannot time a finished execution"),
        }
    }

    /// After a review decision: counted by decision, an approval with
    /// corrections as manually corrected, a reviewer's escalation as an
    /// escalation, and the execution as finished when the decision ended it.
    pub(super) async fn observe_decision(&self, decision: &Decision, decided: &Decided) {
        let workflow = decided.item.workflow.clone();
        metrics::counter!(REVIEW_DECISIONS.name,
            "workflow" => workflow.clone(), "decision" => decision.decision.as_str())
        .increment(1);
        match decision.decision {
            ReviewDecision::Approve if decision.corrections.is_some() => {
                metrics::counter!(MANUAL_CORRECTIONS.name, "workflow" => workflow).increment(1);
            }
            ReviewDecision::Escalate => {
                metrics::counter!(ESCALATIONS.name,
                    "stage" => "review", "workflow" => workflow, "reason" => "reviewer")
                .increment(1);
            }
            ReviewDecision::Approve | ReviewDecision::Reject => {}
        }
        self.observe_transition(decided.item.execution_id, decided.state)
            .await;
    }
}
