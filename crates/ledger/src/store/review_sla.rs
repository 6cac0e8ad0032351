//! Review items past their SLA: which ones still need their overdue event,
//! and how many are overdue per workflow (for the `sluice_review_overdue`
//! gauge). Announcing is two-phase — list, publish with a per-item Msg-Id,
//! then mark — so a crash between publish and mark re-publishes a copy the
//! broker drops, and nothing is announced twice by the ledger's account.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Store;
use super::reviews::Row;
use crate::error::Result;
use crate::types::ReviewItem;

impl Store {
    /// Open items past `sla_due_at` not announced yet (oldest due first, at
    /// most `limit`), and every open overdue item counted per workflow.
    pub async fn list_overdue_reviews(
        &self,
        limit: u32,
    ) -> Result<(Vec<ReviewItem>, BTreeMap<String, u64>)> {
        let rows = sqlx::query_as!(
            Row,
            r#"SELECT id, execution_id, generation, workflow, correlation_id, kind, handoff,
                      status, sla_due_at, created_at, decided_at, decided_by, decision_reason,
                      corrections, manually_corrected
               FROM review_items
               WHERE status = 'OPEN' AND sla_due_at < now() AND sla_announced_at IS NULL
               ORDER BY sla_due_at, id
               LIMIT $1"#,
            i64::from(limit.clamp(1, 1000))
        )
        .fetch_all(self.pool())
        .await?;
        let items = rows
            .into_iter()
            .map(ReviewItem::try_from)
            .collect::<Result<Vec<_>>>()?;
        let counts = sqlx::query!(
            r#"SELECT workflow, count(*) AS "n!" FROM review_items
               WHERE status = 'OPEN' AND sla_due_at < now() GROUP BY workflow"#
        )
        .fetch_all(self.pool())
        .await?
        .into_iter()
        .map(|r| (r.workflow, u64::try_from(r.n).unwrap_or(0)))
        .collect();
        Ok((items, counts))
    }

    /// Records that item `id`'s overdue (and escalation) events went out,
    /// and opens its escalation webhook with `escalation` as the payload
    /// when given, in one transaction; false when the mark was recorded
    /// already.
    pub async fn mark_review_overdue_announced(
        &self,
        id: i64,
        escalation: Option<&Value>,
    ) -> Result<bool> {
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query!(
            "UPDATE review_items SET sla_announced_at = now()
             WHERE id = $1 AND sla_announced_at IS NULL",
            id
        )
        .execute(&mut *tx)
        .await?;
        // On a repeat too: two replicas marking at once open one escalation
        // (the first insert wins), never none.
        if let Some(payload) = escalation {
            super::escalations::open(&mut tx, id, payload).await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }
}
