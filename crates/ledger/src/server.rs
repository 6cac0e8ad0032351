//! The gRPC service: authorise, convert, call the store, convert back.
//!
//! Store errors become gRPC codes in one place (`From<Error> for Status`):
//! INVALID_ARGUMENT for requests that can never succeed, FAILED_PRECONDITION
//! for illegal transitions, ABORTED for stale fencing tokens, NOT_FOUND, and
//! UNAVAILABLE when the database cannot be reached. Who may call what is the
//! table in [`crate::access`]; dead-letter and review handlers live in the
//! submodules and are only delegated to here.

use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::Store;
use crate::access::Rpc;
use crate::convert::{json_in, pb};
use crate::types::{
    BeginOutcome, BeginRequest, ExecutionFilter, FailureKind, Settings, Transition,
    TransitionOutcome,
};

mod backlog;
mod dead_letters;
mod escalations;
mod outcomes;
mod retention;
mod reviews;
pub mod rpc_metrics;
mod switches;
pub mod to_completion;

type Reply<T> = Result<Response<T>, Status>;

/// The `sluice.ledger.v1.Ledger` implementation.
#[derive(Debug, Clone)]
pub struct LedgerService {
    store: Store,
    settings: Settings,
}

impl LedgerService {
    /// A service over `store`, announcing `settings` to callers.
    pub fn new(store: Store, settings: Settings) -> Self {
        Self { store, settings }
    }
}

#[tonic::async_trait]
impl pb::ledger_server::Ledger for LedgerService {
    async fn begin(&self, req: Request<pb::BeginRequest>) -> Reply<pb::BeginResponse> {
        let who = Rpc::Begin.authorize(&req)?;
        let begin = BeginRequest::from_proto(req.into_inner())?;
        let outcome = self.store.begin(&begin, &who.name).await?;
        if matches!(outcome, BeginOutcome::Completed { .. }) {
            tracing::info!(key = %begin.key, "prevented duplicate effect");
        }
        Ok(Response::new(outcome.to_proto()))
    }

    async fn mark_attempted(
        &self,
        req: Request<pb::MarkAttemptedRequest>,
    ) -> Reply<pb::MarkAttemptedResponse> {
        let who = Rpc::MarkAttempted.authorize(&req)?;
        let req = req.into_inner();
        self.store
            .mark_attempted(&req.key, req.fencing_token, &who.name)
            .await?;
        Ok(Response::new(pb::MarkAttemptedResponse {}))
    }

    async fn complete(&self, req: Request<pb::CompleteRequest>) -> Reply<pb::CompleteResponse> {
        let who = Rpc::Complete.authorize(&req)?;
        if !req.get_ref().then.is_empty() {
            // The moves are a RecordTransition of their own.
            Rpc::RecordTransition.authorize(&req)?;
        }
        let mut req = req.into_inner();
        let result = json_in("result", req.result)?;
        let then = Transition::steps_from_proto(std::mem::take(&mut req.then))?;
        let moved = self
            .store
            .complete_and_move(&req.key, req.fencing_token, result, &then, &who.name)
            .await?;
        if moved {
            for t in &then {
                self.observe_transition(*t.execution_id.as_uuid(), t.to)
                    .await;
            }
        }
        Ok(Response::new(pb::CompleteResponse { moved }))
    }

    async fn fail(&self, req: Request<pb::FailRequest>) -> Reply<pb::FailResponse> {
        let who = Rpc::Fail.authorize(&req)?;
        let req = req.into_inner();
        let kind = FailureKind::from_proto(req.kind)?;
        let recovery_point = json_in("recovery_point", req.recovery_point)?;
        self.store
            .fail(
                &req.key,
                req.fencing_token,
                kind,
                &req.reason,
                recovery_point,
                &who.name,
            )
            .await?;
        Ok(Response::new(pb::FailResponse {}))
    }

    async fn heartbeat(&self, req: Request<pb::HeartbeatRequest>) -> Reply<pb::HeartbeatResponse> {
        Rpc::Heartbeat.authorize(&req)?;
        let req = req.into_inner();
        let lease = std::time::Duration::from_millis(req.lease_ms);
        let at = self
            .store
            .heartbeat(&req.key, req.fencing_token, lease)
            .await?;
        Ok(Response::new(pb::HeartbeatResponse {
            lease_expires_at: Some(crate::convert::timestamp(at)),
        }))
    }

    async fn get_key(&self, req: Request<pb::GetKeyRequest>) -> Reply<pb::KeyRecord> {
        Rpc::GetKey.authorize(&req)?;
        let record = self.store.get_key(&req.into_inner().key).await?;
        Ok(Response::new(record.to_proto()))
    }

    async fn record_transition(
        &self,
        req: Request<pb::RecordTransitionRequest>,
    ) -> Reply<pb::RecordTransitionResponse> {
        let who = Rpc::RecordTransition.authorize(&req)?;
        let (path, repeat) = Transition::path_from_proto(req.into_inner())?;
        let outcomes = self.store.record_path(&path, &who.name, repeat).await?;
        for (transition, outcome) in path.iter().zip(&outcomes) {
            if outcome.applied {
                self.observe_transition(*transition.execution_id.as_uuid(), outcome.state)
                    .await;
            }
        }
        let resp = TransitionOutcome::path_to_proto(outcomes)
            .ok_or_else(|| Status::internal("an empty path"))?;
        Ok(Response::new(resp))
    }

    async fn get_execution(
        &self,
        req: Request<pb::GetExecutionRequest>,
    ) -> Reply<pb::GetExecutionResponse> {
        Rpc::GetExecution.authorize(&req)?;
        let id = req.into_inner().execution_id;
        let id = Uuid::parse_str(&id)
            .map_err(|_| Status::invalid_argument(format!("execution_id {id:?} is not a UUID")))?;
        let (execution, journal) = self.store.get_execution(id).await?;
        let audit = self.store.execution_audit(id).await?;
        Ok(Response::new(pb::GetExecutionResponse {
            execution: Some(execution.to_proto()),
            journal: journal.into_iter().map(|entry| entry.to_proto()).collect(),
            audit: crate::convert::trail_to_proto(audit),
        }))
    }

    async fn list_executions(
        &self,
        req: Request<pb::ListExecutionsRequest>,
    ) -> Reply<pb::ListExecutionsResponse> {
        Rpc::ListExecutions.authorize(&req)?;
        let filter = ExecutionFilter::from_proto(req.into_inner())?;
        let page = self.store.list_executions(&filter).await?;
        Ok(Response::new(page.to_proto()))
    }

    async fn who_am_i(&self, req: Request<pb::WhoAmIRequest>) -> Reply<pb::WhoAmIResponse> {
        let who = Rpc::WhoAmI.authorize(&req)?;
        Ok(Response::new(pb::WhoAmIResponse {
            name: who.name,
            role: who.role.as_str().to_owned(),
        }))
    }

    async fn get_settings(
        &self,
        req: Request<pb::GetSettingsRequest>,
    ) -> Reply<pb::GetSettingsResponse> {
        self.get_settings(req).await
    }

    async fn erase_execution(
        &self,
        req: Request<pb::EraseExecutionRequest>,
    ) -> Reply<pb::EraseExecutionResponse> {
        self.erase_execution(req).await
    }

    async fn revert_execution(
        &self,
        req: Request<pb::RevertExecutionRequest>,
    ) -> Reply<pb::RevertExecutionResponse> {
        self.revert_execution(req).await
    }

    async fn record_dead_letter(
        &self,
        req: Request<pb::RecordDeadLetterRequest>,
    ) -> Reply<pb::RecordDeadLetterResponse> {
        self.record_dead_letter(req).await
    }

    async fn get_dead_letter(
        &self,
        req: Request<pb::GetDeadLetterRequest>,
    ) -> Reply<pb::GetDeadLetterResponse> {
        self.get_dead_letter(req).await
    }

    async fn list_dead_letters(
        &self,
        req: Request<pb::ListDeadLettersRequest>,
    ) -> Reply<pb::ListDeadLettersResponse> {
        self.list_dead_letters(req).await
    }

    async fn begin_replay(
        &self,
        req: Request<pb::BeginReplayRequest>,
    ) -> Reply<pb::BeginReplayResponse> {
        self.begin_replay(req).await
    }

    async fn complete_replay(
        &self,
        req: Request<pb::CompleteReplayRequest>,
    ) -> Reply<pb::CompleteReplayResponse> {
        self.complete_replay(req).await
    }

    async fn discard_dead_letter(
        &self,
        req: Request<pb::DiscardDeadLetterRequest>,
    ) -> Reply<pb::DiscardDeadLetterResponse> {
        self.discard_dead_letter(req).await
    }

    async fn create_review_item(
        &self,
        req: Request<pb::CreateReviewItemRequest>,
    ) -> Reply<pb::CreateReviewItemResponse> {
        self.create_review_item(req).await
    }

    async fn get_review_item(
        &self,
        req: Request<pb::GetReviewItemRequest>,
    ) -> Reply<pb::GetReviewItemResponse> {
        self.get_review_item(req).await
    }

    async fn list_review_items(
        &self,
        req: Request<pb::ListReviewItemsRequest>,
    ) -> Reply<pb::ListReviewItemsResponse> {
        self.list_review_items(req).await
    }

    async fn decide_review(
        &self,
        req: Request<pb::DecideReviewRequest>,
    ) -> Reply<pb::DecideReviewResponse> {
        self.decide_review(req).await
    }

    async fn list_overdue_reviews(
        &self,
        req: Request<pb::ListOverdueReviewsRequest>,
    ) -> Reply<pb::ListOverdueReviewsResponse> {
        self.list_overdue_reviews(req).await
    }

    async fn mark_review_overdue_announced(
        &self,
        req: Request<pb::MarkReviewOverdueAnnouncedRequest>,
    ) -> Reply<pb::MarkReviewOverdueAnnouncedResponse> {
        self.mark_review_overdue_announced(req).await
    }

    async fn claim_escalations(
        &self,
        req: Request<pb::ClaimEscalationsRequest>,
    ) -> Reply<pb::ClaimEscalationsResponse> {
        self.claim_escalations(req).await
    }

    async fn record_escalation(
        &self,
        req: Request<pb::RecordEscalationRequest>,
    ) -> Reply<pb::RecordEscalationResponse> {
        self.record_escalation(req).await
    }

    async fn record_switch_change(
        &self,
        req: Request<pb::RecordSwitchChangeRequest>,
    ) -> Reply<pb::RecordSwitchChangeResponse> {
        self.record_switch_change(req).await
    }

    async fn list_audit(&self, req: Request<pb::ListAuditRequest>) -> Reply<pb::ListAuditResponse> {
        self.list_audit(req).await
    }

    async fn workflow_stats(
        &self,
        req: Request<pb::WorkflowStatsRequest>,
    ) -> Reply<pb::WorkflowStatsResponse> {
        self.workflow_stats(req).await
    }

    async fn get_backlog(
        &self,
        req: Request<pb::GetBacklogRequest>,
    ) -> Reply<pb::GetBacklogResponse> {
        self.get_backlog(req).await
    }
}
