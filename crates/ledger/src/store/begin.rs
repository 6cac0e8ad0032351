//! Begin: the key-state table applied under a row lock.

use serde_json::Value;
use sqlx::PgConnection;

use super::decide::{Claim, Decision, Existing, decide};
use crate::error::{Error, Result};
use crate::types::{BeginOutcome, BeginRequest, KeyState};

/// Begin inside a transaction: insert the key if absent, otherwise lock the
/// row and apply the key-state table. Concurrent Begins on one key serialise
/// on the primary key (the insert) and then on the row lock, in Postgres, so
/// exactly one of them can see a claimable key.
pub(super) async fn begin(
    conn: &mut PgConnection,
    req: &BeginRequest,
    lease_ms: i64,
    actor: &str,
) -> Result<BeginOutcome> {
    let execution_id = req.execution_id.map(|id| *id.as_uuid());
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO idempotency_keys
             (key, fingerprint, state, owner, fencing_token, lease_expires_at, execution_id)
           VALUES ($1, $2, 'in_progress', $3, 1, now() + $4::bigint * interval '1 millisecond', $5)
           ON CONFLICT (key) DO NOTHING
           RETURNING fencing_token"#,
        req.key,
        req.fingerprint,
        req.owner,
        lease_ms,
        execution_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(fencing_token) = inserted {
        record_event(conn, &req.key, "started", fencing_token, actor, None, None).await?;
        return Ok(BeginOutcome::Started {
            fencing_token,
            resume_from: None,
            attempt: 1,
        });
    }

    let row = sqlx::query!(
        r#"SELECT fingerprint, state, owner, lease_expires_at, effect_attempted, result,
                  failure_reason, coalesce(lease_expires_at > now(), false) AS "lease_alive!"
           FROM idempotency_keys WHERE key = $1 FOR UPDATE"#,
        req.key
    )
    .fetch_one(&mut *conn)
    .await?;
    let existing = Existing {
        state: KeyState::parse(&row.state)
            .ok_or_else(|| Error::Malformed(format!("stored key state {:?}", row.state)))?,
        fingerprint: row.fingerprint,
        owner: row.owner,
        lease_expires_at: row.lease_expires_at,
        lease_alive: row.lease_alive,
        effect_attempted: row.effect_attempted,
        result: row.result,
        failure_reason: row.failure_reason,
    };
    let claim = Claim {
        fingerprint: &req.fingerprint,
        target_honours_keys: req.target_honours_keys,
        supersede_review: req.supersede_review.as_deref(),
    };
    let (effect_attempted, superseded_by) = match decide(&existing, claim) {
        Decision::Answer(outcome) => return Ok(outcome),
        Decision::Restart {
            effect_attempted,
            superseded_by,
        } => (effect_attempted, superseded_by),
    };

    let restarted = sqlx::query!(
        r#"UPDATE idempotency_keys
           SET state = 'in_progress', owner = $2, fencing_token = fencing_token + 1,
               lease_expires_at = now() + $3::bigint * interval '1 millisecond',
               effect_attempted = $4, fingerprint = $5,
               superseded_by_review = coalesce($6, superseded_by_review),
               execution_id = coalesce($7, execution_id),
               failure_reason = NULL, attempts = attempts + 1, updated_at = now()
           WHERE key = $1
           RETURNING fencing_token, attempts, recovery_point"#,
        req.key,
        req.owner,
        lease_ms,
        effect_attempted,
        req.fingerprint,
        superseded_by,
        execution_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let (event, detail) = match &superseded_by {
        Some(_) => (
            "superseded",
            Some(serde_json::json!({
                "from_fingerprint": existing.fingerprint,
                "to_fingerprint": req.fingerprint,
                "from_state": existing.state.as_str(),
            })),
        ),
        None => ("restarted", None),
    };
    let token = restarted.fencing_token;
    let review = superseded_by.as_deref();
    record_event(conn, &req.key, event, token, actor, review, detail).await?;
    Ok(BeginOutcome::Started {
        fencing_token: token,
        resume_from: restarted.recovery_point,
        attempt: u32::try_from(restarted.attempts).unwrap_or(u32::MAX),
    })
}

async fn record_event(
    conn: &mut PgConnection,
    key: &str,
    event: &str,
    token: i64,
    actor: &str,
    review_id: Option<&str>,
    detail: Option<Value>,
) -> Result<()> {
    sqlx::query!(
        "INSERT INTO key_events (key, event, fencing_token, actor, review_id, detail)
         VALUES ($1, $2, $3, $4, $5, $6)",
        key,
        event,
        token,
        actor,
        review_id,
        detail
    )
    .execute(conn)
    .await?;
    Ok(())
}
