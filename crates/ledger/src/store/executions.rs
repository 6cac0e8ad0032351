//! Executions and their journal: compare-and-set transitions, reads, listing.
//!
//! A transition is one statement: the guarded `UPDATE … WHERE state = from`
//! bumps the execution's `last_seq` and a data-modifying CTE appends the
//! journal row with that sequence number, so the move and its journal entry
//! are atomic without an explicit transaction. A move of an existing
//! execution, or a chained path of them, is group-committed with other
//! executions' (see `group`): one statement moves the execution to the
//! path's end and appends a journal row per step.

use chrono::{DateTime, Utc};
use sluice_core::State;
use sluice_core::error::validate_name;
use sqlx::PgConnection;
use uuid::Uuid;

use super::group::{Move, Step};
use super::{Store, validate};
use crate::error::{Error, Result};
use crate::types::{
    Execution, ExecutionFilter, ExecutionPage, JournalEntry, Repeat, Transition, TransitionOutcome,
};

/// The default and the largest page of [`Store::list_executions`].
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

impl Store {
    /// Applies a compare-and-set transition; see [`Transition`].
    pub async fn record_transition(
        &self,
        t: &Transition,
        actor: &str,
    ) -> Result<TransitionOutcome> {
        if t.from.is_none() {
            let mut conn = self.conn().await?;
            return apply_transition(&mut conn, t, actor).await;
        }
        let mut outcomes = self
            .record_path(std::slice::from_ref(t), actor, Repeat::Answer)
            .await?;
        outcomes
            .pop()
            .ok_or_else(|| Error::Malformed("an empty path".into()))
    }

    /// Applies `path` in order in one transaction: every step or none.
    /// Each step follows [`Store::record_transition`]'s rules, except that
    /// with [`Repeat::Refuse`] a step finding the execution already in its
    /// target is refused too; the first refusal rolls the whole path back
    /// and is returned. One outcome per step.
    pub async fn record_path(
        &self,
        path: &[Transition],
        actor: &str,
        repeat: Repeat,
    ) -> Result<Vec<TransitionOutcome>> {
        // The hot path of every stage, an existing execution moving on from
        // where the caller saw it, is group-committed with other
        // executions' moves: one statement for the whole path.
        if let Some(op) = grouped(path, actor)? {
            if let Some(last) = self.group().transition(op).await? {
                return Ok(moved(path, last));
            }
            if let [t] = path {
                let outcome = unmoved(&mut *self.conn().await?, t).await?;
                return refuse_repeat(t, outcome, repeat).map(|o| vec![o]);
            }
        }
        // It was not where the caller saw it (a redelivery, a stale view),
        // or the path creates it: step by step, for each step's own answer.
        let mut tx = self.pool().begin().await?;
        let mut outcomes = Vec::with_capacity(path.len());
        for t in path {
            let outcome = apply_transition(&mut tx, t, actor).await?;
            outcomes.push(refuse_repeat(t, outcome, repeat)?);
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// Reads one execution and its journal, oldest entry first.
    pub async fn get_execution(&self, id: Uuid) -> Result<(Execution, Vec<JournalEntry>)> {
        let execution = sqlx::query_as!(
            Execution,
            r#"SELECT execution_id, workflow, source, event_id, correlation_id, state,
                      received_at, updated_at, retry_count, exception_reason, final_outcome,
                      payload_ref, model_output_ref, confidence, gate_decision,
                      actions_attempted, external_write_ids, erased_at
               FROM executions WHERE execution_id = $1"#,
            id
        )
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| Error::NotFound(format!("execution {id}")))?;
        let journal = sqlx::query_as!(
            JournalEntry,
            r#"SELECT seq, from_state, to_state, at, stage, generation, detail, actor
               FROM journal WHERE execution_id = $1 ORDER BY seq"#,
            id
        )
        .fetch_all(self.pool())
        .await?;
        Ok((execution, journal))
    }

    /// Lists executions newest first, by keyset pagination on
    /// `(received_at, execution_id)` so pages stay stable while rows arrive.
    pub async fn list_executions(&self, filter: &ExecutionFilter) -> Result<ExecutionPage> {
        let limit = match filter.limit {
            0 => DEFAULT_LIMIT,
            n => n.min(MAX_LIMIT),
        };
        let (after_at, after_id) = match parse_page_token(&filter.page_token)? {
            Some((at, id)) => (Some(at), Some(id)),
            None => (None, None),
        };
        let mut executions = sqlx::query_as!(
            Execution,
            r#"SELECT execution_id, workflow, source, event_id, correlation_id, state,
                      received_at, updated_at, retry_count, exception_reason, final_outcome,
                      payload_ref, model_output_ref, confidence, gate_decision,
                      actions_attempted, external_write_ids, erased_at
               FROM executions
               WHERE ($1::text IS NULL OR workflow = $1)
                 AND ($2::text IS NULL OR state = $2)
                 AND ($3::timestamptz IS NULL OR received_at >= $3)
                 AND ($4::timestamptz IS NULL OR received_at < $4)
                 AND ($5::timestamptz IS NULL OR (received_at, execution_id) < ($5, $6::uuid))
               ORDER BY received_at DESC, execution_id DESC
               LIMIT $7"#,
            filter.workflow,
            filter.state.map(State::as_str),
            filter.since,
            filter.until,
            after_at,
            after_id,
            i64::from(limit) + 1
        )
        .fetch_all(self.pool())
        .await?;
        let next_page_token = if executions.len() > limit as usize {
            executions.truncate(limit as usize);
            executions
                .last()
                .map(|last| page_token(last.received_at, last.execution_id))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(ExecutionPage {
            executions,
            next_page_token,
        })
    }
}

/// Applies a compare-and-set transition on `conn` (a pooled connection, or a
/// transaction when the move belongs to a larger write such as a review
/// decision): one guarded statement moves the state and appends the journal.
pub(crate) async fn apply_transition(
    conn: &mut PgConnection,
    t: &Transition,
    actor: &str,
) -> Result<TransitionOutcome> {
    let id = *t.execution_id.as_uuid();
    let seq = match t.from {
        None => {
            check_names(t)?;
            if t.to != State::Received {
                return Err(Error::IllegalTransition(format!(
                    "an execution is created in RECEIVED, not {}",
                    t.to
                )));
            }
            validate::text("workflow", &t.origin.workflow)?;
            validate::text("source", &t.origin.source)?;
            validate::text("event_id", &t.origin.event_id)?;
            validate::text("correlation_id", &t.origin.correlation_id)?;
            sqlx::query_scalar!(
                r#"WITH ins AS (
                     INSERT INTO executions (execution_id, workflow, source, event_id,
                         correlation_id, state, last_seq, exception_reason, final_outcome)
                     VALUES ($1, $2, $3, $4, $5, 'RECEIVED', 1, $9, $10)
                     ON CONFLICT (execution_id) DO NOTHING
                     RETURNING execution_id, received_at)
                   INSERT INTO journal (execution_id, seq, from_state, to_state, at, stage,
                                        generation, detail, actor)
                   SELECT execution_id, 1, NULL, 'RECEIVED', received_at, $6, $7, $8, $11
                   FROM ins
                   RETURNING seq"#,
                id,
                t.origin.workflow,
                t.origin.source,
                t.origin.event_id,
                t.origin.correlation_id,
                t.stage,
                t.generation,
                t.detail,
                t.exception_reason,
                t.final_outcome,
                actor
            )
            .fetch_optional(&mut *conn)
            .await?
        }
        Some(from) => {
            check_move(t, from)?;
            sqlx::query_scalar!(
                r#"WITH upd AS (
                     UPDATE executions
                     SET state = $3, updated_at = now(), last_seq = last_seq + 1,
                         retry_count = retry_count + CASE WHEN $3 = 'RETRIED' THEN 1 ELSE 0 END,
                         exception_reason = coalesce($7, exception_reason),
                         final_outcome = coalesce($8, final_outcome)
                     WHERE execution_id = $1 AND state = $2
                     RETURNING execution_id, last_seq, updated_at)
                   INSERT INTO journal (execution_id, seq, from_state, to_state, at, stage,
                                        generation, detail, actor)
                   SELECT execution_id, last_seq, $2, $3, updated_at, $4, $5, $6, $9 FROM upd
                   RETURNING seq"#,
                id,
                from.as_str(),
                t.to.as_str(),
                t.stage,
                t.generation,
                t.detail,
                t.exception_reason,
                t.final_outcome,
                actor
            )
            .fetch_optional(&mut *conn)
            .await?
        }
    };
    match seq {
        Some(seq) => Ok(TransitionOutcome {
            applied: true,
            state: t.to,
            seq: Some(seq),
        }),
        None => unmoved(conn, t).await,
    }
}

/// The stage and generation a journal row may carry.
fn check_names(t: &Transition) -> Result<()> {
    if !t.stage.is_empty() {
        validate_name("stage", &t.stage).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    }
    validate::optional_text("generation", &t.generation)
}

/// A move of an existing execution the state machine allows.
fn check_move(t: &Transition, from: State) -> Result<()> {
    check_names(t)?;
    if from.can_transition_to(t.to) {
        Ok(())
    } else {
        Err(Error::IllegalTransition(format!(
            "{from} -> {} is not an edge of the state machine",
            t.to
        )))
    }
}

/// `path` as one group-committed move, when it is a chain of moves of one
/// existing execution; `None` when it creates the execution.
pub(super) fn grouped(path: &[Transition], actor: &str) -> Result<Option<Move>> {
    let Some(first) = path.first() else {
        return Err(Error::InvalidArgument("an empty path".into()));
    };
    let mut steps = Vec::with_capacity(path.len());
    let mut at = first.from;
    for t in path {
        let Some(from) = t.from else {
            return Ok(None);
        };
        check_move(t, from)?;
        if t.execution_id != first.execution_id {
            return Err(Error::InvalidArgument(
                "every step of a path moves the same execution".into(),
            ));
        }
        // A step that does not start where the previous one ended is
        // refused (or a no-op) step by step; only chains are one move.
        if at != Some(from) {
            return Ok(None);
        }
        at = Some(t.to);
        steps.push(Step {
            from: from.as_str(),
            to: t.to.as_str(),
            stage: t.stage.clone(),
            generation: t.generation.clone(),
            detail: t.detail.clone(),
        });
    }
    let last_set =
        |f: fn(&Transition) -> &Option<String>| path.iter().rev().find_map(|t| f(t).clone());
    Ok(Some(Move {
        key: first.execution_id.as_uuid().to_string(),
        execution_id: *first.execution_id.as_uuid(),
        steps,
        exception_reason: last_set(|t| &t.exception_reason),
        final_outcome: last_set(|t| &t.final_outcome),
        actor: actor.to_owned(),
    }))
}

/// `outcome`, or the refusal [`Repeat::Refuse`] makes of a step that moved
/// nothing.
fn refuse_repeat(
    t: &Transition,
    outcome: TransitionOutcome,
    repeat: Repeat,
) -> Result<TransitionOutcome> {
    if outcome.applied || repeat == Repeat::Answer {
        return Ok(outcome);
    }
    Err(Error::IllegalTransition(format!(
        "execution {} is already in {}",
        t.execution_id.as_uuid(),
        outcome.state
    )))
}

/// The outcomes of a path applied as one move whose last step is `last`.
fn moved(path: &[Transition], last: i64) -> Vec<TransitionOutcome> {
    let n = i64::try_from(path.len()).unwrap_or(i64::MAX);
    path.iter()
        .zip(1..)
        .map(|(t, i)| TransitionOutcome {
            applied: true,
            state: t.to,
            seq: Some(last - n + i),
        })
        .collect()
}

/// What a transition that moved nothing answers.
async fn unmoved(conn: &mut PgConnection, t: &Transition) -> Result<TransitionOutcome> {
    let id = *t.execution_id.as_uuid();
    // Nothing moved: a redelivery (already in `to`), a second creation,
    // or a caller whose view of the execution is out of date.
    let current = sqlx::query_scalar!("SELECT state FROM executions WHERE execution_id = $1", id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::NotFound(format!("execution {id}")))?;
    let state: State = current
        .parse()
        .map_err(|_| Error::Malformed(format!("stored execution state {current:?}")))?;
    if state == t.to || t.from.is_none() {
        return Ok(TransitionOutcome {
            applied: false,
            state,
            seq: None,
        });
    }
    let from = t.from.map_or("", State::as_str);
    Err(Error::IllegalTransition(format!(
        "execution {id} is in {state}, not {from}"
    )))
}

/// `<received_at in µs since the epoch>_<execution id>`: Postgres keeps
/// microseconds, so the token names the last row exactly.
fn page_token(at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}_{}", at.timestamp_micros(), id.simple())
}

fn parse_page_token(token: &str) -> Result<Option<(DateTime<Utc>, Uuid)>> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || Error::InvalidArgument(format!("invalid page token {token:?}"));
    let (micros, id) = token.split_once('_').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let at = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
    let id = Uuid::parse_str(id).map_err(|_| bad())?;
    Ok(Some((at, id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_round_trip() {
        let at = DateTime::from_timestamp_micros(1_763_900_000_123_456).unwrap_or_default();
        let id = Uuid::new_v4();
        assert_eq!(
            parse_page_token(&page_token(at, id)).ok(),
            Some(Some((at, id)))
        );
        assert!(parse_page_token("nonsense").is_err());
        assert_eq!(parse_page_token("").ok(), Some(None));
    }
}
