//! Escalation webhooks: opened with an item's overdue mark, claimed with a
//! lease by one dead-letter replica at a time, recorded when they end.
//!
//! The claim is one guarded `UPDATE` over rows locked with `SKIP LOCKED`,
//! re-checked after the lock, so two replicas claiming at once get disjoint
//! rows; the record is guarded by the claimant's name, so a replica whose
//! lease ran out (and whose row was taken over) cannot overwrite the new
//! holder's outcome.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Store;
use crate::error::Result;
use crate::types::{Escalation, EscalationOutcome, EscalationState, EscalationStatus};

impl Store {
    /// Claims up to `limit` unfinished escalations nobody holds (or whose
    /// lease ran out) for `claimant`, for `lease`.
    pub async fn claim_escalations(
        &self,
        claimant: &str,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Escalation>> {
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let rows = sqlx::query!(
            r#"UPDATE review_escalations
               SET claimed_by = $1, lease_until = now() + $2::bigint * interval '1 millisecond'
               WHERE review_item_id IN (
                     SELECT review_item_id FROM review_escalations
                     WHERE delivered_at IS NULL AND failed_at IS NULL
                       AND (lease_until IS NULL OR lease_until < now())
                     ORDER BY created_at, review_item_id
                     LIMIT $3
                     FOR UPDATE SKIP LOCKED)
                 AND delivered_at IS NULL AND failed_at IS NULL
                 AND (lease_until IS NULL OR lease_until < now())
               RETURNING review_item_id, workflow, payload, attempts"#,
            claimant,
            lease_ms,
            i64::from(limit.clamp(1, 100)),
        )
        .fetch_all(self.pool())
        .await?;
        let mut claimed: Vec<Escalation> = rows
            .into_iter()
            .map(|r| Escalation {
                review_item_id: r.review_item_id,
                workflow: r.workflow,
                payload: r.payload,
                attempts: u32::try_from(r.attempts).unwrap_or(0),
            })
            .collect();
        claimed.sort_by_key(|e| e.review_item_id);
        Ok(claimed)
    }

    /// Records how `outcome`'s escalation ended, if `outcome.claimant`
    /// still holds it; false otherwise (taken over, or recorded already).
    pub async fn record_escalation(&self, outcome: &EscalationOutcome) -> Result<bool> {
        let attempts = i32::try_from(outcome.attempts).unwrap_or(i32::MAX);
        let done = sqlx::query!(
            r#"UPDATE review_escalations
               SET attempts = attempts + $3,
                   last_error = COALESCE($4, last_error),
                   delivered_at = CASE WHEN $5 THEN now() END,
                   failed_at = CASE WHEN $5 THEN NULL ELSE now() END,
                   lease_until = NULL
               WHERE review_item_id = $1 AND claimed_by = $2
                 AND delivered_at IS NULL AND failed_at IS NULL"#,
            outcome.review_item_id,
            outcome.claimant,
            attempts,
            outcome.error,
            outcome.delivered,
        )
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Where review item `id`'s escalation webhook stands, if it has one.
    pub async fn escalation_status(&self, id: i64) -> Result<Option<EscalationStatus>> {
        let row = sqlx::query!(
            r#"SELECT attempts, last_error, delivered_at, failed_at, created_at
               FROM review_escalations WHERE review_item_id = $1"#,
            id
        )
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| {
            let (state, finished_at) = finished(r.delivered_at, r.failed_at);
            EscalationStatus {
                state,
                attempts: u32::try_from(r.attempts).unwrap_or(0),
                last_error: r.last_error,
                created_at: r.created_at,
                finished_at,
            }
        }))
    }
}

fn finished(
    delivered_at: Option<DateTime<Utc>>,
    failed_at: Option<DateTime<Utc>>,
) -> (EscalationState, Option<DateTime<Utc>>) {
    match (delivered_at, failed_at) {
        (Some(at), _) => (EscalationState::Delivered, Some(at)),
        (None, Some(at)) => (EscalationState::Failed, Some(at)),
        (None, None) => (EscalationState::Pending, None),
    }
}

/// Opens item `id`'s escalation with `payload`, unless it has one; part of
/// the overdue mark's transaction.
pub(super) async fn open(conn: &mut sqlx::PgConnection, id: i64, payload: &Value) -> Result<()> {
    sqlx::query!(
        r#"INSERT INTO review_escalations (review_item_id, workflow, payload)
           SELECT id, workflow, $2 FROM review_items WHERE id = $1
           ON CONFLICT (review_item_id) DO NOTHING"#,
        id,
        payload
    )
    .execute(conn)
    .await?;
    Ok(())
}
