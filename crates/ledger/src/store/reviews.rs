//! Review items: open (idempotent by execution and generation), read, list.
//! Decisions are in [`super::review_decisions`].

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;

use super::{Store, paging, validate};
use crate::error::{Error, Result};
use crate::types::{
    CreatedReviewItem, NewReviewItem, ReviewFilter, ReviewItem, ReviewKind, ReviewPage,
    ReviewStatus,
};

/// A `review_items` row as stored.
pub(crate) struct Row {
    pub(super) id: i64,
    pub(super) execution_id: uuid::Uuid,
    pub(super) generation: String,
    pub(super) workflow: String,
    pub(super) correlation_id: String,
    pub(super) kind: String,
    pub(super) handoff: Value,
    pub(super) status: String,
    pub(super) sla_due_at: Option<DateTime<Utc>>,
    pub(super) created_at: DateTime<Utc>,
    pub(super) decided_at: Option<DateTime<Utc>>,
    pub(super) decided_by: Option<String>,
    pub(super) decision_reason: Option<String>,
    pub(super) corrections: Option<Value>,
    pub(super) manually_corrected: bool,
}

impl TryFrom<Row> for ReviewItem {
    type Error = Error;

    fn try_from(r: Row) -> Result<Self> {
        let malformed = |what: &str| Error::Malformed(format!("review item {}: {what}", r.id));
        Ok(ReviewItem {
            kind: ReviewKind::parse(&r.kind).ok_or_else(|| malformed("kind"))?,
            status: ReviewStatus::parse(&r.status).ok_or_else(|| malformed("status"))?,
            id: r.id,
            execution_id: r.execution_id,
            generation: r.generation,
            workflow: r.workflow,
            correlation_id: r.correlation_id,
            handoff: r.handoff,
            sla_due_at: r.sla_due_at,
            created_at: r.created_at,
            decided_at: r.decided_at,
            decided_by: r.decided_by,
            decision_reason: r.decision_reason,
            corrections: r.corrections,
            manually_corrected: r.manually_corrected,
        })
    }
}

/// Reads one item on `conn`; `lock` takes the row lock a decision needs.
pub(crate) async fn fetch(conn: &mut PgConnection, id: i64, lock: bool) -> Result<ReviewItem> {
    let row = if lock {
        sqlx::query_as!(
            Row,
            r#"SELECT id, execution_id, generation, workflow, correlation_id, kind, handoff,
                      status, sla_due_at, created_at, decided_at, decided_by, decision_reason,
                      corrections, manually_corrected
               FROM review_items WHERE id = $1 FOR UPDATE"#,
            id
        )
        .fetch_optional(conn)
        .await?
    } else {
        sqlx::query_as!(
            Row,
            r#"SELECT id, execution_id, generation, workflow, correlation_id, kind, handoff,
                      status, sla_due_at, created_at, decided_at, decided_by, decision_reason,
                      corrections, manually_corrected
               FROM review_items WHERE id = $1"#,
            id
        )
        .fetch_optional(conn)
        .await?
    };
    row.ok_or_else(|| Error::NotFound(format!("review item {id}")))?
        .try_into()
}

impl Store {
    /// Opens a review item for an existing execution, once per (execution,
    /// generation): a repeat returns the existing item with `created = false`.
    pub async fn create_review_item(&self, new: &NewReviewItem) -> Result<CreatedReviewItem> {
        validate::text("generation", &new.generation)?;
        if !new.handoff.is_object() {
            return Err(Error::InvalidArgument(
                "handoff must be a JSON object".into(),
            ));
        }
        let execution = *new.execution_id.as_uuid();
        let mut conn = self.conn().await?;
        let inserted = sqlx::query_scalar!(
            r#"INSERT INTO review_items (execution_id, generation, workflow, correlation_id, kind,
                                        handoff, sla_due_at)
               SELECT execution_id, $2, workflow, correlation_id, $3, $4, $5
               FROM executions WHERE execution_id = $1
               ON CONFLICT (execution_id, generation) DO NOTHING
               RETURNING id"#,
            execution,
            new.generation,
            new.kind.as_str(),
            new.handoff,
            new.sla_due_at
        )
        .fetch_optional(&mut *conn)
        .await?;
        let (id, created) = match inserted {
            Some(id) => (id, true),
            None => {
                let id = sqlx::query_scalar!(
                    "SELECT id FROM review_items WHERE execution_id = $1 AND generation = $2",
                    execution,
                    new.generation
                )
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| Error::NotFound(format!("execution {execution}")))?;
                (id, false)
            }
        };
        Ok(CreatedReviewItem {
            item: fetch(&mut conn, id, false).await?,
            created,
        })
    }

    /// Reads one review item.
    pub async fn get_review_item(&self, id: i64) -> Result<ReviewItem> {
        fetch(&mut *self.conn().await?, id, false).await
    }

    /// Lists review items oldest first (the queue order); filters combine.
    pub async fn list_review_items(&self, f: &ReviewFilter) -> Result<ReviewPage> {
        let limit = paging::limit(f.limit);
        let rows = sqlx::query_as!(
            Row,
            r#"SELECT id, execution_id, generation, workflow, correlation_id, kind, handoff,
                      status, sla_due_at, created_at, decided_at, decided_by, decision_reason,
                      corrections, manually_corrected
               FROM review_items
               WHERE ($1::text IS NULL OR workflow = $1)
                 AND ($2::text IS NULL OR status = $2)
                 AND ($3::float8 IS NULL OR created_at < now() - $3 * interval '1 second')
                 AND (NOT $4 OR (status = 'OPEN' AND sla_due_at < now()))
                 AND ($5::bigint IS NULL OR id > $5)
               ORDER BY id
               LIMIT $6"#,
            f.workflow,
            f.status.map(ReviewStatus::as_str),
            f.older_than.map(|d| d.as_secs_f64()),
            f.overdue,
            paging::after(&f.page_token)?,
            i64::from(limit) + 1
        )
        .fetch_all(self.pool())
        .await?;
        let mut items = rows
            .into_iter()
            .map(ReviewItem::try_from)
            .collect::<Result<Vec<_>>>()?;
        let next_page_token = paging::finish(&mut items, limit, |i| i.id);
        Ok(ReviewPage {
            items,
            next_page_token,
        })
    }
}
