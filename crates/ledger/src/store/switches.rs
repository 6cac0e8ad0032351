//! Kill-switch audit and the fleet-wide rates a breaker reads.
//!
//! The switch bucket lives in NATS; what the ledger keeps is who changed a
//! switch, when and why (written before the caller touches the bucket, so a
//! change is never unaccounted for), and the counts over a recent window
//! that every gate replica computes the same breaker decision from.

use super::audit::{self, Act, Subject};
use super::{Store, validate};
use crate::auth::{Identity, Role};
use crate::error::{Error, Result};
use crate::types::{AuditRecord, SWITCH_SOURCES, SWITCH_STATES, SwitchChange, WorkflowStats};

impl Store {
    /// Audits a switch change under `who`. A service may only record a
    /// breaker trip (off or half-open): turning a switch on is an operator's.
    pub async fn record_switch_change(
        &self,
        change: &SwitchChange,
        who: &Identity,
    ) -> Result<AuditRecord> {
        sluice_core::subjects::validate_switch_key(&change.key)
            .map_err(|e| Error::InvalidArgument(format!("switch key: {e}")))?;
        validate::reason(&change.reason)?;
        if !SWITCH_STATES.contains(&change.state.as_str()) {
            return Err(Error::InvalidArgument(format!(
                "switch state {:?} is not one of {SWITCH_STATES:?}",
                change.state
            )));
        }
        if !SWITCH_SOURCES.contains(&change.source.as_str()) {
            return Err(Error::InvalidArgument(format!(
                "switch source {:?} is not one of {SWITCH_SOURCES:?}",
                change.source
            )));
        }
        let breaker_trip = change.source == "breaker" && change.state != "on";
        if who.role == Role::Service && !breaker_trip {
            return Err(Error::PermissionDenied(format!(
                "{} may only record breaker trips; turning a switch on is an operator's act",
                who.name
            )));
        }
        let action = format!("switch.{}", change.state);
        let act = Act {
            who,
            action: &action,
            subject: Subject::Switch(&change.key),
            reason: &change.reason,
            result: &change.source,
            detail: change.detail.clone(),
        };
        let mut conn = self.pool().acquire().await?;
        audit::append_returning(&mut conn, act).await
    }

    /// Counts for `workflow` over the last `window_seconds`, read from the
    /// journal and the review queue (shared by every replica, so breaker
    /// windows are fleet-wide).
    pub async fn workflow_stats(
        &self,
        workflow: &str,
        window_seconds: u32,
    ) -> Result<WorkflowStats> {
        validate::text("workflow", workflow)?;
        let secs = f64::from(window_seconds.max(1));
        let journal = sqlx::query!(
            r#"SELECT
                 count(*) FILTER (WHERE j.to_state = 'GATE_DECIDED') AS "decided!",
                 count(*) FILTER (WHERE j.to_state = 'GATE_DECIDED'
                   AND j.detail @> '{"rules": [{"rule": "confidence", "passed": false}]}')
                   AS "low_confidence!",
                 count(*) FILTER (WHERE j.to_state = 'ACTION_COMPLETED') AS "completed!",
                 count(*) FILTER (WHERE j.to_state IN ('DEAD_LETTERED', 'EFFECT_UNKNOWN')
                   OR (j.to_state = 'NEEDS_REVIEW' AND j.stage = 'execute')) AS "failed!"
               FROM journal j JOIN executions e USING (execution_id)
               WHERE e.workflow = $1 AND j.at >= now() - make_interval(secs => $2)"#,
            workflow,
            secs
        )
        .fetch_one(self.pool())
        .await?;
        let reviews = sqlx::query!(
            r#"SELECT count(*) AS "decided!",
                      count(*) FILTER (WHERE status = 'REJECTED') AS "rejected!"
               FROM review_items
               WHERE workflow = $1 AND decided_at >= now() - make_interval(secs => $2)"#,
            workflow,
            secs
        )
        .fetch_one(self.pool())
        .await?;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(WorkflowStats {
            decided: n(journal.decided),
            low_confidence: n(journal.low_confidence),
            effects_completed: n(journal.completed),
            effects_failed: n(journal.failed),
            reviews_decided: n(reviews.decided),
            reviews_rejected: n(reviews.rejected),
        })
    }
}
