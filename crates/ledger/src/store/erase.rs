//! Erasure: an execution's personal payload goes, its audit skeleton stays.
//!
//! Everything that may carry what a person sent (the payload fields of the
//! execution, journal details, review handoffs and corrections, the stored
//! results of its idempotency keys and their events, its dead letters'
//! payload, headers and error detail) is replaced by one erasure marker in a
//! single transaction. States, journal moves (from, to, at, stage,
//! generation, actor), key names and fingerprints, failure reasons and audit
//! rows stay, so "what happened, when and by whom" can still be answered.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sluice_core::State;
use sqlx::PgConnection;
use uuid::Uuid;

use super::audit::{self, Act, Subject};
use super::{Store, validate};
use crate::auth::Identity;
use crate::error::{Error, Result};
use crate::types::{Erasure, StreamMessage};

/// Journal-detail keys that describe how a stage ran (backend, model,
/// prompt version, timings, usage), never what the person sent: they survive
/// an erasure so `sluice trace` still explains the execution.
const KEPT_DETAIL_KEYS: &[&str] = &[
    "backend",
    "model",
    "prompt_version",
    "prompt_sha256",
    "latency_ms",
    "usage",
    "fallback_reason",
    "reused_stored_interpretation",
    "via",
    "stage",
];

/// What replaces erased JSON.
fn marker(at: DateTime<Utc>) -> Value {
    json!({ "erased": true, "at": at })
}

fn count(rows: u64) -> u32 {
    u32::try_from(rows).unwrap_or(u32::MAX)
}

impl Store {
    /// Erases the personal payload of execution `id` (see the module docs),
    /// audited under `who`; a dry run counts what would go and changes
    /// nothing. Erasing an erased execution changes nothing and says so
    /// (`applied = false`), and still returns its stream messages so an
    /// interrupted erasure can be finished.
    pub async fn erase_execution(
        &self,
        id: Uuid,
        reason: &str,
        dry_run: bool,
        who: &Identity,
    ) -> Result<Erasure> {
        validate::reason(reason)?;
        let mut tx = self.pool().begin().await?;
        // The row lock orders an erasure after any transition in flight.
        let row = sqlx::query!(
            "SELECT state, erased_at FROM executions WHERE execution_id = $1 FOR UPDATE",
            id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::NotFound(format!("execution {id}")))?;
        let messages = stream_messages(&mut tx, id).await?;
        if let Some(at) = row.erased_at {
            return Ok(Erasure {
                erased_at: Some(at),
                messages,
                ..Erasure::default()
            });
        }
        let state: State = row
            .state
            .parse()
            .map_err(|_| Error::Malformed(format!("stored execution state {:?}", row.state)))?;
        // A stage working on the execution would write payload back (or
        // stumble over the marker); erase once it has stopped.
        if state.is_active() || state == State::FailedRetryable {
            return Err(Error::Precondition(format!(
                "execution {id} is in {state} and a stage is working on it; erase it once it \
                 is terminal, dead-lettered or waiting for review"
            )));
        }
        let at = sqlx::query_scalar!(r#"SELECT now() AS "now!""#)
            .fetch_one(&mut *tx)
            .await?;
        let mut erasure = scrub(&mut tx, id, at).await?;
        erasure.messages = messages;
        if dry_run {
            tx.rollback().await?;
            return Ok(erasure);
        }
        let act = Act {
            who,
            action: "execution.erase",
            subject: Subject::Execution(id),
            reason,
            result: "erased",
            detail: Some(json!({
                "journal_entries": erasure.journal_entries,
                "review_items": erasure.review_items,
                "keys": erasure.keys,
                "dead_letters": erasure.dead_letters,
            })),
        };
        audit::append(&mut tx, act).await?;
        tx.commit().await?;
        erasure.applied = true;
        erasure.erased_at = Some(at);
        Ok(erasure)
    }
}

/// Replaces every personal field of the execution on `conn`; returns the
/// counts (not yet marked applied).
async fn scrub(conn: &mut PgConnection, id: Uuid, at: DateTime<Utc>) -> Result<Erasure> {
    let erased = marker(at);
    sqlx::query!(
        r#"UPDATE executions
           SET payload_ref = CASE WHEN payload_ref IS NULL THEN NULL ELSE 'erased' END,
               model_output_ref = CASE WHEN model_output_ref IS NULL THEN NULL ELSE 'erased' END,
               actions_attempted = CASE WHEN actions_attempted IS NULL THEN NULL ELSE $2::jsonb END,
               erased_at = $3
           WHERE execution_id = $1"#,
        id,
        erased,
        at
    )
    .execute(&mut *conn)
    .await?;
    let kept: Vec<String> = KEPT_DETAIL_KEYS.iter().map(|k| (*k).to_owned()).collect();
    let journal_entries = sqlx::query!(
        r#"UPDATE journal
           SET detail = CASE WHEN jsonb_typeof(detail) = 'object'
                             THEN coalesce((SELECT jsonb_object_agg(key, value)
                                            FROM jsonb_each(detail) WHERE key = ANY($2)),
                                           '{}'::jsonb)
                             ELSE '{}'::jsonb END || $3
           WHERE execution_id = $1 AND detail IS NOT NULL"#,
        id,
        &kept,
        erased
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let review_items = sqlx::query!(
        r#"UPDATE review_items
           SET handoff = $2::jsonb,
               corrections = CASE WHEN corrections IS NULL THEN NULL ELSE $2::jsonb END
           WHERE execution_id = $1"#,
        id,
        erased
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    // The interpretation key names the execution in its key even if an old
    // writer did not record the execution id with it.
    let interpret_key = format!("{id}:interpret");
    sqlx::query!(
        r#"UPDATE key_events SET detail = $3
           WHERE detail IS NOT NULL AND key IN (
             SELECT key FROM idempotency_keys WHERE execution_id = $1 OR key = $2)"#,
        id,
        interpret_key,
        erased
    )
    .execute(&mut *conn)
    .await?;
    // `updated_at` stays: the retention clock of a key is its last real change.
    let keys = sqlx::query!(
        r#"UPDATE idempotency_keys
           SET result = CASE WHEN result IS NULL THEN NULL ELSE $3::jsonb END,
               recovery_point = CASE WHEN recovery_point IS NULL THEN NULL ELSE $3::jsonb END
           WHERE execution_id = $1 OR key = $2"#,
        id,
        interpret_key,
        erased
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let dead_letters = sqlx::query!(
        r#"UPDATE dead_letters
           SET payload = '\x'::bytea, headers = '{}'::jsonb,
               error_detail = CASE WHEN error_detail IS NULL THEN NULL ELSE $2::jsonb END,
               erased_at = $3, updated_at = now()
           WHERE execution_id = $1"#,
        id,
        erased,
        at
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(Erasure {
        journal_entries: count(journal_entries),
        review_items: count(review_items),
        keys: count(keys),
        dead_letters: count(dead_letters),
        ..Erasure::default()
    })
}

/// The execution's dead letters in the streams: each dead-letter copy, then
/// the original message (which limits retention also keeps).
async fn stream_messages(conn: &mut PgConnection, id: Uuid) -> Result<Vec<StreamMessage>> {
    let rows = sqlx::query!(
        r#"SELECT stream, stream_sequence, dlq_stream, dlq_sequence
           FROM dead_letters WHERE execution_id = $1 ORDER BY id"#,
        id
    )
    .fetch_all(conn)
    .await?;
    let mut messages = Vec::new();
    for row in rows {
        if !row.dlq_stream.is_empty() && row.dlq_sequence > 0 {
            messages.push(StreamMessage {
                stream: row.dlq_stream,
                sequence: u64::try_from(row.dlq_sequence).unwrap_or(0),
            });
        }
        messages.push(StreamMessage {
            stream: row.stream,
            sequence: u64::try_from(row.stream_sequence).unwrap_or(0),
        });
    }
    Ok(messages)
}
