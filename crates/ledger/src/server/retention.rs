//! Retention, erasure and revert RPCs: the settings (anyone), erasure
//! (SREs), a revert (reviewers and SREs): operator acts on one execution.

use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::{LedgerService, Reply};
use crate::access::Rpc;
use crate::convert::pb;

impl LedgerService {
    pub(super) async fn get_settings(
        &self,
        req: Request<pb::GetSettingsRequest>,
    ) -> Reply<pb::GetSettingsResponse> {
        Rpc::GetSettings.authorize(&req)?;
        Ok(Response::new(self.settings.to_proto()))
    }

    pub(super) async fn erase_execution(
        &self,
        req: Request<pb::EraseExecutionRequest>,
    ) -> Reply<pb::EraseExecutionResponse> {
        let who = Rpc::EraseExecution.authorize(&req)?;
        let req = req.into_inner();
        let id = Uuid::parse_str(&req.execution_id).map_err(|_| {
            Status::invalid_argument(format!("execution_id {:?} is not a UUID", req.execution_id))
        })?;
        let erasure = self
            .store
            .erase_execution(id, &req.reason, req.dry_run, &who)
            .await?;
        if erasure.applied {
            tracing::info!(
                execution_id = %id,
                actor = %who.name,
                dead_letters = erasure.dead_letters,
                "execution payload erased"
            );
        }
        Ok(Response::new(erasure.to_proto()))
    }

    pub(super) async fn revert_execution(
        &self,
        req: Request<pb::RevertExecutionRequest>,
    ) -> Reply<pb::RevertExecutionResponse> {
        let who = Rpc::RevertExecution.authorize(&req)?;
        let req = req.into_inner();
        let id = Uuid::parse_str(&req.execution_id).map_err(|_| {
            Status::invalid_argument(format!("execution_id {:?} is not a UUID", req.execution_id))
        })?;
        let revert = self.store.revert_execution(id, &req.reason, &who).await?;
        if revert.started {
            tracing::info!(
                execution_id = %id,
                actor = %who.name,
                effects = revert.undo.len(),
                "revert requested"
            );
        }
        Ok(Response::new(revert.to_proto()))
    }
}
