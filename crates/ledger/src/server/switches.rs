//! Switch and breaker RPCs: audit a switch change, read an audit trail,
//! fleet-wide workflow counts.

use tonic::{Request, Response};

use super::{LedgerService, Reply};
use crate::access::Rpc;
use crate::convert::{json_in, pb, trail_to_proto};
use crate::types::SwitchChange;

/// The most audit records one ListAudit returns.
const MAX_AUDIT: u32 = 1000;

impl LedgerService {
    pub(super) async fn record_switch_change(
        &self,
        req: Request<pb::RecordSwitchChangeRequest>,
    ) -> Reply<pb::RecordSwitchChangeResponse> {
        let who = Rpc::RecordSwitchChange.authorize(&req)?;
        let r = req.into_inner();
        let change = SwitchChange {
            key: r.key,
            state: r.state,
            reason: r.reason,
            source: r.source,
            detail: json_in("detail", r.detail)?,
        };
        let record = self.store.record_switch_change(&change, &who).await?;
        tracing::warn!(switch = %change.key, state = %change.state, source = %change.source,
            actor = %record.actor, "kill switch change audited");
        Ok(Response::new(pb::RecordSwitchChangeResponse {
            record: Some(record.to_proto()),
        }))
    }

    pub(super) async fn list_audit(
        &self,
        req: Request<pb::ListAuditRequest>,
    ) -> Reply<pb::ListAuditResponse> {
        Rpc::ListAudit.authorize(&req)?;
        let r = req.into_inner();
        let limit = match r.limit {
            0 => 100,
            n => n.min(MAX_AUDIT),
        };
        let records = self
            .store
            .list_audit(&r.subject_kind, &r.subject_id, i64::from(limit))
            .await?;
        Ok(Response::new(pb::ListAuditResponse {
            records: trail_to_proto(records),
        }))
    }

    pub(super) async fn workflow_stats(
        &self,
        req: Request<pb::WorkflowStatsRequest>,
    ) -> Reply<pb::WorkflowStatsResponse> {
        Rpc::WorkflowStats.authorize(&req)?;
        let r = req.into_inner();
        let s = self
            .store
            .workflow_stats(&r.workflow, r.window_seconds)
            .await?;
        Ok(Response::new(pb::WorkflowStatsResponse {
            decided: s.decided,
            low_confidence: s.low_confidence,
            effects_completed: s.effects_completed,
            effects_failed: s.effects_failed,
            reviews_decided: s.reviews_decided,
            reviews_rejected: s.reviews_rejected,
        }))
    }
}
