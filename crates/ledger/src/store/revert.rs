//! A person's request to undo a completed execution: the move to
//! `COMPENSATING` with the effects to undo, and its audit row, in one
//! transaction. The executor does the undoing (it holds the connectors and
//! their secrets); the ledger only records the request and, through the keys,
//! makes sure each compensation happens once.

use chrono::Utc;
use serde_json::{Value, json};
use sluice_core::{ExecutionId, State};
use sqlx::PgConnection;
use uuid::Uuid;

use super::audit::{self, Act, Subject};
use super::executions::apply_transition;
use super::{Store, validate};
use crate::auth::Identity;
use crate::error::{Error, Result};
use crate::types::{Origin, REVERT_GENERATION, Revert, Transition, Undo};

impl Store {
    /// Moves `COMPLETED` execution `id` to `COMPENSATING` on behalf of `who`
    /// (see `RevertExecution` in the proto). A repeat while compensating or
    /// compensated changes nothing and returns the first request.
    pub async fn revert_execution(&self, id: Uuid, reason: &str, who: &Identity) -> Result<Revert> {
        validate::reason(reason)?;
        let mut tx = self.pool().begin().await?;
        // The row lock orders the request after any transition in flight.
        let row = sqlx::query!(
            "SELECT workflow, source, event_id, correlation_id, received_at, state
             FROM executions WHERE execution_id = $1 FOR UPDATE",
            id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::NotFound(format!("execution {id}")))?;
        let state: State = row
            .state
            .parse()
            .map_err(|_| Error::Malformed(format!("stored execution state {:?}", row.state)))?;
        let mut revert = Revert {
            started: false,
            state,
            undo: Vec::new(),
            requested_by: who.name.clone(),
            reason: reason.to_owned(),
            requested_at: Utc::now(),
            workflow: row.workflow,
            source: row.source,
            event_id: row.event_id,
            correlation_id: row.correlation_id,
            received_at: row.received_at,
        };
        match state {
            State::Completed => {}
            State::Compensating | State::Compensated => {
                first_request(&mut tx, id, &mut revert).await?;
                tx.rollback().await?;
                return Ok(revert);
            }
            other => {
                return Err(Error::Precondition(format!(
                    "execution {id} is in {other}; only a COMPLETED execution can be reverted"
                )));
            }
        }
        revert.undo = completed_effects(&mut tx, id).await?;
        if revert.undo.is_empty() {
            return Err(Error::Precondition(format!(
                "execution {id} journalled no completed effect to undo"
            )));
        }
        let detail = json!({ "undo": revert.undo, "reason": reason, "requested_by": who.name });
        let t = Transition {
            execution_id: ExecutionId::from_uuid(id),
            from: Some(State::Completed),
            to: State::Compensating,
            stage: "compensate".to_owned(),
            generation: REVERT_GENERATION.to_owned(),
            detail: Some(detail),
            exception_reason: None,
            final_outcome: None,
            origin: Origin::default(),
        };
        apply_transition(&mut tx, &t, &who.name).await?;
        let act = Act {
            who,
            action: "execution.revert",
            subject: Subject::Execution(id),
            reason,
            result: "compensating",
            detail: Some(json!({ "undo": revert.undo })),
        };
        audit::append(&mut tx, act).await?;
        revert.requested_at = sqlx::query_scalar!(
            r#"SELECT at AS "at!" FROM journal
               WHERE execution_id = $1 AND to_state = 'COMPENSATING'
               ORDER BY seq DESC LIMIT 1"#,
            id
        )
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        revert.started = true;
        revert.state = State::Compensating;
        Ok(revert)
    }
}

/// Fills `revert` from the journal entry that started the compensation.
async fn first_request(conn: &mut PgConnection, id: Uuid, revert: &mut Revert) -> Result<()> {
    let entry = sqlx::query!(
        "SELECT detail, actor, at FROM journal
         WHERE execution_id = $1 AND to_state = 'COMPENSATING'
         ORDER BY seq DESC LIMIT 1",
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| Error::Malformed(format!("execution {id} has no COMPENSATING entry")))?;
    let detail = entry.detail.unwrap_or(Value::Null);
    revert.undo = Undo::list_of(&detail);
    revert.requested_by = entry.actor;
    revert.requested_at = entry.at;
    revert.reason = detail
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok(())
}

/// The effects of the execution's last `ACTION_COMPLETED` entry, latest
/// first: the order a compensation runs in.
async fn completed_effects(conn: &mut PgConnection, id: Uuid) -> Result<Vec<Undo>> {
    let detail: Option<Value> = sqlx::query_scalar!(
        "SELECT detail FROM journal
         WHERE execution_id = $1 AND to_state = 'ACTION_COMPLETED'
         ORDER BY seq DESC LIMIT 1",
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    .flatten();
    let mut undo: Vec<Undo> = detail
        .as_ref()
        .and_then(|d| d.get("actions"))
        .and_then(|a| serde_json::from_value(a.clone()).ok())
        .unwrap_or_default();
    undo.reverse();
    Ok(undo)
}
