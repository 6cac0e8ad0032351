//! Typed client calls for retention, erasure and revert. All are safe to
//! retry: the settings are a read, and a repeated erasure or revert changes
//! nothing.

use sluice_core::ExecutionId;

use super::LedgerClient;
use crate::convert::{pb, trail_from_proto};
use crate::error::Result;
use crate::types::{AuditRecord, Erasure, Revert, Settings};

impl LedgerClient {
    /// The ledger's settings (its key retention).
    pub async fn get_settings(&self) -> Result<Settings> {
        let resp = self
            .call(pb::GetSettingsRequest {}, |mut c, r| async move {
                c.get_settings(r).await
            })
            .await?;
        Settings::from_proto(resp)
    }

    /// Erases the execution's personal payload (or, with `dry_run`, counts
    /// what would go).
    pub async fn erase_execution(
        &self,
        id: ExecutionId,
        reason: &str,
        dry_run: bool,
    ) -> Result<Erasure> {
        let msg = pb::EraseExecutionRequest {
            execution_id: id.as_uuid().to_string(),
            reason: reason.to_owned(),
            dry_run,
        };
        let resp = self
            .call(msg, |mut c, r| async move { c.erase_execution(r).await })
            .await?;
        Erasure::from_proto(resp)
    }

    /// The audit trail of the execution itself (its erasures), oldest first.
    pub async fn execution_audit(&self, id: ExecutionId) -> Result<Vec<AuditRecord>> {
        let msg = pb::GetExecutionRequest {
            execution_id: id.as_uuid().to_string(),
        };
        let resp = self
            .call(msg, |mut c, r| async move { c.get_execution(r).await })
            .await?;
        trail_from_proto(resp.audit)
    }

    /// Asks for completed execution `id`'s effects to be undone; a repeat
    /// returns the first request with `started = false`.
    pub async fn revert_execution(&self, id: ExecutionId, reason: &str) -> Result<Revert> {
        let msg = pb::RevertExecutionRequest {
            execution_id: id.as_uuid().to_string(),
            reason: reason.to_owned(),
        };
        let resp = self
            .call(msg, |mut c, r| async move { c.revert_execution(r).await })
            .await?;
        Revert::from_proto(resp)
    }
}
