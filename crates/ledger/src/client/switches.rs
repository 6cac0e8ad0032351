//! Typed client calls for kill switches and breakers.

use super::LedgerClient;
use crate::convert::{json_out, pb, trail_from_proto};
use crate::error::{Error, Result};
use crate::types::{AuditRecord, SwitchChange, WorkflowStats};

impl LedgerClient {
    /// Audits a switch change; returns the record (its actor is the caller's
    /// authenticated identity, to be written into the switch itself).
    pub async fn record_switch_change(&self, change: &SwitchChange) -> Result<AuditRecord> {
        let msg = pb::RecordSwitchChangeRequest {
            key: change.key.clone(),
            state: change.state.clone(),
            reason: change.reason.clone(),
            source: change.source.clone(),
            detail: json_out(change.detail.clone()),
        };
        let resp = self
            .call(
                msg,
                |mut c, r| async move { c.record_switch_change(r).await },
            )
            .await?;
        let record = resp
            .record
            .ok_or_else(|| Error::Malformed("no audit record in the answer".to_owned()))?;
        AuditRecord::from_proto(record)
    }

    /// The last `limit` audit records of one subject (`switch`, `dead_letter`
    /// …), oldest first.
    pub async fn list_audit(
        &self,
        subject_kind: &str,
        subject_id: &str,
        limit: u32,
    ) -> Result<Vec<AuditRecord>> {
        let msg = pb::ListAuditRequest {
            subject_kind: subject_kind.to_owned(),
            subject_id: subject_id.to_owned(),
            limit,
        };
        let resp = self
            .call(msg, |mut c, r| async move { c.list_audit(r).await })
            .await?;
        trail_from_proto(resp.records)
    }

    /// Fleet-wide counts of `workflow` over the last `window_seconds`.
    pub async fn workflow_stats(
        &self,
        workflow: &str,
        window_seconds: u32,
    ) -> Result<WorkflowStats> {
        let msg = pb::WorkflowStatsRequest {
            workflow: workflow.to_owned(),
            window_seconds,
        };
        let r = self
            .call(msg, |mut c, r| async move { c.workflow_stats(r).await })
            .await?;
        Ok(WorkflowStats {
            decided: r.decided,
            low_confidence: r.low_confidence,
            effects_completed: r.effects_completed,
            effects_failed: r.effects_failed,
            reviews_decided: r.reviews_decided,
            reviews_rejected: r.reviews_rejected,
        })
    }
}
