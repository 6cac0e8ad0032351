//! Idempotency keys: Begin, MarkAttempted, Complete, Fail, Heartbeat, Get.
//!
//! The fresh-key `Begin`, `MarkAttempted` and `Complete` are group-committed
//! (see [`super::group`]); what they answer when their guard refuses is
//! explained here, on a connection of its own.

use serde_json::Value;
use sqlx::PgConnection;

use super::Store;
use super::executions::grouped;
use super::group::{Completion, FreshBegin, Guarded};
use super::validate;
use crate::error::{Error, Result};
use crate::types::{BeginOutcome, BeginRequest, FailureKind, KeyRecord, KeyState, Transition};

impl Store {
    /// Claims a key; answers with one row of the key-state table.
    pub async fn begin(&self, req: &BeginRequest, actor: &str) -> Result<BeginOutcome> {
        validate::text("key", &req.key)?;
        validate::text("fingerprint", &req.fingerprint)?;
        validate::text("owner", &req.owner)?;
        if let Some(review) = &req.supersede_review {
            validate::text("supersede.review_id", review)?;
        }
        let lease_ms = validate::lease_ms(req.lease)?;
        let fresh = FreshBegin {
            key: req.key.clone(),
            fingerprint: req.fingerprint.clone(),
            owner: req.owner.clone(),
            lease_ms,
            execution_id: req.execution_id.map(|id| *id.as_uuid()),
            actor: actor.to_owned(),
        };
        if let Some(fencing_token) = self.group().begin_fresh(fresh).await? {
            return Ok(BeginOutcome::Started {
                fencing_token,
                resume_from: None,
                attempt: 1,
            });
        }
        // The key exists (or a concurrent Begin inserted it first): apply
        // the key-state table under its row lock.
        let mut tx = self.pool().begin().await?;
        let outcome = super::begin::begin(&mut tx, req, lease_ms, actor).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Records that the holder is about to perform the effect.
    pub async fn mark_attempted(&self, key: &str, token: i64, actor: &str) -> Result<()> {
        validate::text("key", key)?;
        let op = Guarded {
            key: key.to_owned(),
            token,
            actor: actor.to_owned(),
        };
        if self.group().mark_attempted(op).await? {
            return Ok(());
        }
        explain_refusal(&mut *self.conn().await?, key, token, None).await
    }

    /// Completes the key with the effect's result.
    pub async fn complete(
        &self,
        key: &str,
        token: i64,
        result: Option<Value>,
        actor: &str,
    ) -> Result<()> {
        self.complete_and_move(key, token, result, &[], actor)
            .await
            .map(|_| ())
    }

    /// Completes the key, and records `then` (a chain of moves of one
    /// existing execution, as for [`Store::record_path`]) in the same
    /// transaction. The completion stands whatever the moves find: answers
    /// whether they were recorded (not when the execution is elsewhere, or
    /// when this is a repeat of a completion already made).
    pub async fn complete_and_move(
        &self,
        key: &str,
        token: i64,
        result: Option<Value>,
        then: &[Transition],
        actor: &str,
    ) -> Result<bool> {
        validate::text("key", key)?;
        let then = match then {
            [] => None,
            path => Some(grouped(path, actor)?.ok_or_else(|| {
                Error::InvalidArgument(
                    "the moves of a completion are a chain of one existing execution's".into(),
                )
            })?),
        };
        let op = Completion {
            guarded: Guarded {
                key: key.to_owned(),
                token,
                actor: actor.to_owned(),
            },
            result,
            then,
        };
        if let Some(done) = self.group().complete(op).await? {
            return Ok(done.moved);
        }
        let completed = Some(KeyState::Completed);
        explain_refusal(&mut *self.conn().await?, key, token, completed).await?;
        Ok(false)
    }

    /// Records a failure of the current attempt.
    pub async fn fail(
        &self,
        key: &str,
        token: i64,
        kind: FailureKind,
        reason: &str,
        recovery_point: Option<Value>,
        actor: &str,
    ) -> Result<()> {
        validate::text("key", key)?;
        validate::text("reason", reason)?;
        let state = match kind {
            FailureKind::Recoverable => KeyState::FailedRecoverable,
            FailureKind::Permanent => KeyState::FailedPermanent,
        };
        let mut conn = self.conn().await?;
        let failed = sqlx::query_scalar!(
            r#"WITH upd AS (
                 UPDATE idempotency_keys
                 SET state = $3, failure_reason = $4,
                     recovery_point = coalesce($5, recovery_point),
                     lease_expires_at = NULL, updated_at = now()
                 WHERE key = $1 AND fencing_token = $2 AND state = 'in_progress'
                 RETURNING key, fencing_token)
               INSERT INTO key_events (key, event, fencing_token, actor, detail)
               SELECT key, $3, fencing_token, $6, jsonb_build_object('reason', $4::text) FROM upd
               RETURNING key"#,
            key,
            token,
            state.as_str(),
            reason,
            recovery_point,
            actor
        )
        .fetch_optional(&mut *conn)
        .await?;
        match failed {
            Some(_) => Ok(()),
            None => explain_refusal(&mut conn, key, token, Some(state)).await,
        }
    }

    /// Renews the lease of the current holder; returns the new expiry.
    pub async fn heartbeat(
        &self,
        key: &str,
        token: i64,
        lease: std::time::Duration,
    ) -> Result<chrono::DateTime<chrono::Utc>> {
        validate::text("key", key)?;
        let lease_ms = validate::lease_ms(lease)?;
        let mut conn = self.conn().await?;
        let renewed = sqlx::query_scalar!(
            r#"UPDATE idempotency_keys
               SET lease_expires_at = now() + $3::bigint * interval '1 millisecond',
                   updated_at = now()
               WHERE key = $1 AND fencing_token = $2 AND state = 'in_progress'
               RETURNING lease_expires_at AS "lease_expires_at!""#,
            key,
            token,
            lease_ms
        )
        .fetch_optional(&mut *conn)
        .await?;
        match renewed {
            Some(at) => Ok(at),
            None => {
                // Without a target state the explanation is always an error;
                // `and` only turns its `Ok(())` type into this function's.
                explain_refusal(&mut conn, key, token, None)
                    .await
                    .and(Err(Error::StaleToken {
                        key: key.to_owned(),
                        token,
                    }))
            }
        }
    }

    /// Reads one key.
    pub async fn get_key(&self, key: &str) -> Result<KeyRecord> {
        validate::text("key", key)?;
        sqlx::query_as!(
            KeyRecord,
            r#"SELECT key, fingerprint, state, owner, fencing_token, lease_expires_at,
                      effect_attempted, result, recovery_point, failure_reason, attempts,
                      superseded_by_review, execution_id, created_at, updated_at
               FROM idempotency_keys WHERE key = $1"#,
            key
        )
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| Error::NotFound(format!("idempotency key {key:?}")))
    }
}

/// Why a guarded update touched nothing: the key is missing (NOT_FOUND), the
/// call is a harmless repeat of one that already applied (`Ok`, so a client
/// retrying after a lost response is safe), or the token is stale (ABORTED).
async fn explain_refusal(
    conn: &mut PgConnection,
    key: &str,
    token: i64,
    target: Option<KeyState>,
) -> Result<()> {
    let current = sqlx::query!(
        "SELECT state, fencing_token FROM idempotency_keys WHERE key = $1",
        key
    )
    .fetch_optional(conn)
    .await?;
    match current {
        None => Err(Error::NotFound(format!("idempotency key {key:?}"))),
        Some(row)
            if row.fencing_token == token
                && target.is_some_and(|state| state.as_str() == row.state) =>
        {
            Ok(())
        }
        Some(_) => Err(Error::StaleToken {
            key: key.to_owned(),
            token,
        }),
    }
}
