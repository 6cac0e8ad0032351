//! The dead-letter index: record (idempotent by the original message's stream
//! and sequence), read, list.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sluice_core::error::validate_name;
use sqlx::PgConnection;

use super::{Store, paging, validate};
use crate::error::{Error, Result};
use crate::types::{
    DeadLetter, DeadLetterFilter, DeadLetterPage, DeadLetterStatus, NewDeadLetter,
    RecordedDeadLetter,
};

/// A `dead_letters` row as stored.
pub(crate) struct Row {
    id: i64,
    stream: String,
    stream_sequence: i64,
    stage: String,
    workflow: String,
    execution_id: Option<uuid::Uuid>,
    correlation_id: String,
    failure_class: String,
    reason: String,
    error_detail: Option<Value>,
    attempts: i32,
    first_failed_at: DateTime<Utc>,
    last_failed_at: DateTime<Utc>,
    subject: String,
    headers: Value,
    payload: Vec<u8>,
    dlq_stream: String,
    dlq_sequence: i64,
    status: String,
    replay_count: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<Row> for DeadLetter {
    type Error = Error;

    fn try_from(r: Row) -> Result<Self> {
        let malformed = |what: &str| Error::Malformed(format!("dead letter {}: {what}", r.id));
        Ok(DeadLetter {
            failure_class: r
                .failure_class
                .parse()
                .map_err(|_| malformed("failure class"))?,
            status: DeadLetterStatus::parse(&r.status).ok_or_else(|| malformed("status"))?,
            headers: serde_json::from_value(r.headers).map_err(|_| malformed("headers"))?,
            stream_sequence: u64::try_from(r.stream_sequence).unwrap_or(0),
            attempts: u32::try_from(r.attempts).unwrap_or(0),
            dlq_sequence: u64::try_from(r.dlq_sequence).unwrap_or(0),
            replay_count: u32::try_from(r.replay_count).unwrap_or(0),
            id: r.id,
            stream: r.stream,
            stage: r.stage,
            workflow: r.workflow,
            execution_id: r.execution_id,
            correlation_id: r.correlation_id,
            reason: r.reason,
            error_detail: r.error_detail,
            first_failed_at: r.first_failed_at,
            last_failed_at: r.last_failed_at,
            subject: r.subject,
            payload: r.payload,
            dlq_stream: r.dlq_stream,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Reads one entry on `conn` (a pool connection or the caller's transaction).
pub(crate) async fn fetch(conn: &mut PgConnection, id: i64) -> Result<DeadLetter> {
    sqlx::query_as!(
        Row,
        r#"SELECT id, stream, stream_sequence, stage, workflow, execution_id, correlation_id,
                  failure_class, reason, error_detail, attempts, first_failed_at, last_failed_at,
                  subject, headers, payload, dlq_stream, dlq_sequence, status, replay_count,
                  created_at, updated_at
           FROM dead_letters WHERE id = $1"#,
        id
    )
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| Error::NotFound(format!("dead letter {id}")))?
    .try_into()
}

fn check(d: &NewDeadLetter) -> Result<()> {
    validate::text("stream", &d.stream)?;
    validate_name("stage", &d.stage).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    validate::text("workflow", &d.workflow)?;
    validate::optional_text("correlation_id", &d.correlation_id)?;
    validate::text("subject", &d.subject)?;
    validate::optional_text("dlq_stream", &d.dlq_stream)?;
    if d.stream_sequence == 0 {
        return Err(Error::InvalidArgument(
            "stream_sequence must be positive".into(),
        ));
    }
    Ok(())
}

fn to_i64(field: &str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::InvalidArgument(format!("{field} is too large")))
}

impl Store {
    /// Indexes a dead letter, once per original (stream, sequence): a repeat
    /// returns the existing entry unchanged with `created = false`.
    pub async fn record_dead_letter(&self, d: &NewDeadLetter) -> Result<RecordedDeadLetter> {
        check(d)?;
        let headers = serde_json::to_value(&d.headers)
            .map_err(|e| Error::InvalidArgument(format!("headers: {e}")))?;
        let sequence = to_i64("stream_sequence", d.stream_sequence)?;
        let mut conn = self.conn().await?;
        let inserted = sqlx::query_scalar!(
            r#"INSERT INTO dead_letters (stream, stream_sequence, stage, workflow, execution_id,
                   correlation_id, failure_class, reason, error_detail, attempts,
                   first_failed_at, last_failed_at, subject, headers, payload, dlq_stream,
                   dlq_sequence)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                       coalesce($11, now()), coalesce($12, now()), $13, $14, $15, $16, $17)
               ON CONFLICT (stream, stream_sequence) DO NOTHING
               RETURNING id"#,
            d.stream,
            sequence,
            d.stage,
            d.workflow,
            d.execution_id.map(|id| *id.as_uuid()),
            d.correlation_id,
            d.failure_class.as_str(),
            validate::failure_reason(&d.reason),
            d.error_detail,
            i32::try_from(d.attempts).unwrap_or(i32::MAX),
            d.first_failed_at,
            d.last_failed_at,
            d.subject,
            headers,
            d.payload,
            d.dlq_stream,
            to_i64("dlq_sequence", d.dlq_sequence)?
        )
        .fetch_optional(&mut *conn)
        .await?;
        let (id, created) = match inserted {
            Some(id) => (id, true),
            None => {
                let id = sqlx::query_scalar!(
                    "SELECT id FROM dead_letters WHERE stream = $1 AND stream_sequence = $2",
                    d.stream,
                    sequence
                )
                .fetch_one(&mut *conn)
                .await?;
                (id, false)
            }
        };
        Ok(RecordedDeadLetter {
            dead_letter: fetch(&mut conn, id).await?,
            created,
        })
    }

    /// Reads one dead letter.
    pub async fn get_dead_letter(&self, id: i64) -> Result<DeadLetter> {
        fetch(&mut *self.conn().await?, id).await
    }

    /// Lists dead letters newest first; filters combine.
    pub async fn list_dead_letters(&self, f: &DeadLetterFilter) -> Result<DeadLetterPage> {
        let limit = paging::limit(f.limit);
        let rows = sqlx::query_as!(
            Row,
            r#"SELECT id, stream, stream_sequence, stage, workflow, execution_id, correlation_id,
                      failure_class, reason, error_detail, attempts, first_failed_at,
                      last_failed_at, subject, headers, payload, dlq_stream, dlq_sequence, status,
                      replay_count, created_at, updated_at
               FROM dead_letters
               WHERE ($1::text IS NULL OR stage = $1)
                 AND ($2::text IS NULL OR workflow = $2)
                 AND ($3::text IS NULL OR failure_class = $3)
                 AND ($4::text IS NULL OR strpos(lower(reason), lower($4)) > 0)
                 AND ($5::text IS NULL OR status = $5)
                 AND ($6::text IS NULL OR correlation_id = $6)
                 AND ($7::timestamptz IS NULL OR created_at >= $7)
                 AND ($8::timestamptz IS NULL OR created_at < $8)
                 AND ($9::bigint IS NULL OR id < $9)
               ORDER BY id DESC
               LIMIT $10"#,
            f.stage,
            f.workflow,
            f.failure_class.map(|c| c.as_str()),
            f.reason_contains,
            f.status.map(DeadLetterStatus::as_str),
            f.correlation_id,
            f.since,
            f.until,
            paging::after(&f.page_token)?,
            i64::from(limit) + 1
        )
        .fetch_all(self.pool())
        .await?;
        let mut dead_letters = rows
            .into_iter()
            .map(DeadLetter::try_from)
            .collect::<Result<Vec<_>>>()?;
        let next_page_token = paging::finish(&mut dead_letters, limit, |d| d.id);
        Ok(DeadLetterPage {
            dead_letters,
            next_page_token,
        })
    }
}
