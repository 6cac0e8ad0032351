//! Group commit of the hot-path writes: a fresh `Begin`, `MarkAttempted`,
//! `Complete`, and a `RecordTransition` of an existing execution (one step
//! or a path).
//!
//! Every effect makes the first three calls and every stage the last, and
//! each used to be one statement and one commit of its own. Under load most
//! of the database's work per call is the fixed cost around the row (parse,
//! plan, executor start-up, the commit and its WAL flush), so concurrent
//! calls of one kind are queued to a lane and written together: one
//! statement over `unnest`ed arrays, one commit, however many callers are
//! waiting. A lane has a few statements in flight at most (one while
//! another waits for its WAL flush); when one finishes it takes whatever is
//! queued and never waits for more, so a lone caller pays one channel hop
//! and no timer.
//!
//! What each caller is answered is exactly what its own statement would
//! have answered:
//! - a key is in at most one statement in flight (a second call on it
//!   waits for a later batch), so its calls apply in the order they came
//!   and "which rows did this statement touch" answers every caller
//!   separately;
//! - the statement is atomic: if Postgres refuses it (a deadlock with
//!   another lane, say) nothing of it applied, and each call is run again
//!   on its own so one bad row cannot fail its neighbours;
//! - if the connection fails instead, whether the statement committed is
//!   unknown, exactly as for a lone statement, and every caller gets the
//!   error (the clients' retries are safe: a repeated `Complete` with the
//!   same token answers OK, a repeated `Begin` finds its own key).
//!
//! Correctness still lives in the statements' guards (`ON CONFLICT`, the
//! fencing token, the state), never in the lane: several ledger replicas
//! share one database and each has its own lanes.

use std::collections::{HashMap, HashSet, VecDeque};

use sluice_core::metrics::LEDGER_GROUP_COMMIT_SIZE;
use sqlx::{PgConnection, PgPool};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::error::{Error, Result};

/// The most writes one statement carries. Large enough that a burst of a
/// few hundred in-flight calls drains in a few statements, small enough
/// that one statement stays well under a millisecond of row work.
const MAX_BATCH: usize = 128;

/// A fresh-key `Begin`: insert the key row and its `started` event unless
/// the key exists.
#[derive(Debug)]
pub(crate) struct FreshBegin {
    pub key: String,
    pub fingerprint: String,
    pub owner: String,
    pub lease_ms: i64,
    pub execution_id: Option<Uuid>,
    pub actor: String,
}

/// A guarded update of an in-progress key held with `token`.
#[derive(Debug)]
pub(crate) struct Guarded {
    pub key: String,
    pub token: i64,
    pub actor: String,
}

/// A compare-and-set path of an existing execution: one or more chained
/// steps (each already checked against the state machine), applied only if
/// the execution is in the first step's `from`, as one move to the last
/// step's `to` with one journal row per step.
#[derive(Debug)]
pub(crate) struct Move {
    /// The execution id, as Postgres prints a uuid.
    pub key: String,
    pub execution_id: Uuid,
    pub steps: Vec<Step>,
    /// The last one any step sets.
    pub exception_reason: Option<String>,
    /// The last one any step sets.
    pub final_outcome: Option<String>,
    pub actor: String,
}

/// One step of a [`Move`], as its journal row records it.
#[derive(Debug)]
pub(crate) struct Step {
    pub from: &'static str,
    pub to: &'static str,
    pub stage: String,
    pub generation: String,
    pub detail: Option<serde_json::Value>,
}

impl Move {
    fn first_from(&self) -> &'static str {
        self.steps.first().map_or("", |s| s.from)
    }

    fn last_to(&self) -> &'static str {
        self.steps.last().map_or("", |s| s.to)
    }

    fn retries(&self) -> i32 {
        let n = self.steps.iter().filter(|s| s.to == "RETRIED").count();
        i32::try_from(n).unwrap_or(i32::MAX)
    }
}

/// A `Complete`: the guarded update plus the result to store, and the moves
/// of the key's execution to record in the same transaction.
#[derive(Debug)]
pub(crate) struct Completion {
    pub guarded: Guarded,
    pub result: Option<serde_json::Value>,
    pub then: Option<Move>,
}

/// What a [`Completion`] that held its key did with its moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Completed {
    /// Its moves were recorded (false when it had none, or the execution
    /// was not where they start).
    pub moved: bool,
}

/// The four lanes of one store, or none when group commit is off (each
/// call is then its own statement, as a measurement baseline). Cheap to
/// share; the lanes' tasks end when the last store handle is dropped.
#[derive(Debug)]
pub(crate) struct GroupCommit {
    pool: PgPool,
    lanes: Option<Lanes>,
}

#[derive(Debug)]
struct Lanes {
    begin: mpsc::UnboundedSender<Pending<FreshBegin>>,
    attempted: mpsc::UnboundedSender<Pending<Guarded>>,
    complete: mpsc::UnboundedSender<Pending<Completion>>,
    moves: mpsc::UnboundedSender<Pending<Move>>,
}

impl GroupCommit {
    /// Starts the lanes on the current runtime (when `on`).
    pub(crate) fn start(pool: &PgPool, on: bool) -> Self {
        let parallel = statements_per_lane(pool.options().get_max_connections());
        let lanes = on.then(|| Lanes {
            begin: lane::<FreshBegin>(pool.clone(), parallel),
            attempted: lane::<Guarded>(pool.clone(), parallel),
            complete: lane::<Completion>(pool.clone(), parallel),
            moves: lane::<Move>(pool.clone(), parallel),
        });
        Self {
            pool: pool.clone(),
            lanes,
        }
    }

    /// The fencing token of the inserted key, or `None` when the key exists.
    pub(crate) async fn begin_fresh(&self, op: FreshBegin) -> Result<Option<i64>> {
        match &self.lanes {
            Some(lanes) => submit(&lanes.begin, op).await,
            None => alone(&self.pool, op).await,
        }
    }

    /// Whether the key was held with the token (and is now marked).
    pub(crate) async fn mark_attempted(&self, op: Guarded) -> Result<bool> {
        let token = match &self.lanes {
            Some(lanes) => submit(&lanes.attempted, op).await,
            None => alone(&self.pool, op).await,
        };
        token.map(|token| token.is_some())
    }

    /// `None` when the key was not held with the token; otherwise it is now
    /// completed, and whether its moves were recorded with it.
    pub(crate) async fn complete(&self, op: Completion) -> Result<Option<Completed>> {
        match &self.lanes {
            Some(lanes) => submit(&lanes.complete, op).await,
            None => alone(&self.pool, op).await,
        }
    }

    /// The journal sequence number of the path's last step, or `None` when
    /// the execution was not in the first step's `from`.
    pub(crate) async fn transition(&self, op: Move) -> Result<Option<i64>> {
        match &self.lanes {
            Some(lanes) => submit(&lanes.moves, op).await,
            None => alone(&self.pool, op).await,
        }
    }
}

/// How many statements each lane may have in flight: while one waits for
/// its commit (a WAL flush), the next batch can be written. With a pool of
/// eight or more, the four lanes together take at most half of it, so the
/// calls that are not group-committed always find connections.
fn statements_per_lane(pool_size: u32) -> usize {
    usize::try_from(pool_size / 8).unwrap_or(1).clamp(1, 4)
}

/// One queued call and where its answer goes.
#[derive(Debug)]
struct Pending<Op: Batch> {
    op: Op,
    reply: oneshot::Sender<Result<Option<Op::Answer>>>,
}

/// A write that can be applied to many keys in one statement.
trait Batch: Send + Sync + Sized + 'static {
    /// The `op` label of the batch-size histogram.
    const NAME: &'static str;

    /// What a call that wrote its row is answered (a fencing token, a
    /// journal sequence number).
    type Answer: std::fmt::Debug + Send + 'static;

    fn key(&self) -> &str;

    /// Applies `ops` (distinct keys) in one statement; answers for every
    /// key it wrote.
    fn write(
        conn: &mut PgConnection,
        ops: &[&Self],
    ) -> impl Future<Output = sqlx::Result<HashMap<String, Self::Answer>>> + Send;
}

async fn submit<Op: Batch>(
    lane: &mpsc::UnboundedSender<Pending<Op>>,
    op: Op,
) -> Result<Option<Op::Answer>> {
    let (reply, answer) = oneshot::channel();
    lane.send(Pending { op, reply }).map_err(|_| lane_gone())?;
    answer.await.map_err(|_| lane_gone())?
}

/// One call as its own statement.
async fn alone<Op: Batch>(pool: &PgPool, op: Op) -> Result<Option<Op::Answer>> {
    let mut written = write(pool, &[&op]).await?;
    Ok(written.remove(op.key()))
}

fn lane_gone() -> Error {
    // The lane's task only ends with the runtime; a call racing shutdown
    // is told the database is unavailable, which clients retry.
    Error::Database(sqlx::Error::PoolClosed)
}

fn lane<Op: Batch>(pool: PgPool, parallel: usize) -> mpsc::UnboundedSender<Pending<Op>> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(drive(pool, parallel, rx));
    tx
}

/// The lane's loop: up to `parallel` statements at a time, each over
/// everything queued whose key is not already being written.
async fn drive<Op: Batch>(
    pool: PgPool,
    parallel: usize,
    mut queue: mpsc::UnboundedReceiver<Pending<Op>>,
) {
    // Calls not yet in a batch (a key already being written, or past the
    // size limit), in arrival order.
    let mut waiting: VecDeque<Pending<Op>> = VecDeque::new();
    // The keys of each statement in flight: a key is written by one
    // statement at a time, so its calls apply in the order they came.
    let mut writing: HashMap<tokio::task::Id, Vec<String>> = HashMap::new();
    let mut busy: HashSet<String> = HashSet::new();
    let mut in_flight = tokio::task::JoinSet::new();
    let mut open = true;
    loop {
        while let Ok(pending) = queue.try_recv() {
            waiting.push_back(pending);
        }
        if in_flight.len() < parallel {
            let batch = take_batch(&mut waiting, &busy);
            if !batch.is_empty() {
                metrics::histogram!(LEDGER_GROUP_COMMIT_SIZE.name, "op" => Op::NAME)
                    .record(batch.len() as f64);
                let keys: Vec<String> = batch.iter().map(|p| p.op.key().to_owned()).collect();
                busy.extend(keys.iter().cloned());
                let task = in_flight.spawn(apply(pool.clone(), batch));
                writing.insert(task.id(), keys);
                continue;
            }
        }
        if !open && in_flight.is_empty() && waiting.is_empty() {
            return;
        }
        tokio::select! {
            done = in_flight.join_next_with_id(), if !in_flight.is_empty() => {
                // A statement that panicked answered nobody (its callers
                // see the lane gone); its keys are free again either way.
                let id = match done {
                    Some(Ok((id, ()))) => Some(id),
                    Some(Err(err)) => Some(err.id()),
                    None => None,
                };
                for key in id.and_then(|id| writing.remove(&id)).unwrap_or_default() {
                    busy.remove(&key);
                }
            }
            next = queue.recv(), if open => match next {
                Some(pending) => waiting.push_back(pending),
                None => open = false,
            },
        }
    }
}

/// Up to [`MAX_BATCH`] calls on distinct keys not in `busy`, oldest first;
/// the rest stay in `waiting`.
fn take_batch<Op: Batch>(
    waiting: &mut VecDeque<Pending<Op>>,
    busy: &HashSet<String>,
) -> Vec<Pending<Op>> {
    let mut batch = Vec::new();
    let mut keys = HashSet::new();
    let mut later = VecDeque::new();
    while let Some(pending) = waiting.pop_front() {
        let key = pending.op.key();
        if batch.len() < MAX_BATCH && !busy.contains(key) && keys.insert(key.to_owned()) {
            batch.push(pending);
        } else {
            later.push_back(pending);
        }
    }
    *waiting = later;
    batch
}

async fn apply<Op: Batch>(pool: PgPool, batch: Vec<Pending<Op>>) {
    let pool = &pool;
    let ops: Vec<&Op> = batch.iter().map(|p| &p.op).collect();
    match write(pool, &ops).await {
        Ok(mut written) => {
            for pending in batch {
                let answer = written.remove(pending.op.key());
                pending.reply.send(Ok(answer)).ok();
            }
        }
        // Postgres refused the statement, so none of it applied: give each
        // call its own statement and its own answer.
        Err(sqlx::Error::Database(_)) if batch.len() > 1 => {
            for pending in batch {
                pending.reply.send(alone(pool, pending.op).await).ok();
            }
        }
        // Whether it committed is unknown, as for a lone statement: every
        // caller gets the error (of the same class, so the same status).
        Err(err) => {
            let mut batch = batch.into_iter();
            let first = batch.next();
            for pending in batch {
                pending.reply.send(Err(Error::from(copy_of(&err)))).ok();
            }
            if let Some(pending) = first {
                pending.reply.send(Err(Error::from(err))).ok();
            }
        }
    }
}

async fn write<Op: Batch>(pool: &PgPool, ops: &[&Op]) -> sqlx::Result<HashMap<String, Op::Answer>> {
    let mut conn = pool.acquire().await?;
    Op::write(&mut conn, ops).await
}

/// A stand-in for an error that cannot be cloned: the same class (so the
/// caller's status code is the same), the message as text.
fn copy_of(err: &sqlx::Error) -> sqlx::Error {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed => {
            sqlx::Error::Io(std::io::Error::other(err.to_string()))
        }
        sqlx::Error::PoolTimedOut => sqlx::Error::PoolTimedOut,
        sqlx::Error::PoolClosed => sqlx::Error::PoolClosed,
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

/// Rows as `(key, fencing_token)`, keyed by key.
fn by_key(rows: Vec<(String, i64)>) -> HashMap<String, i64> {
    rows.into_iter().collect()
}

fn column<Op, T>(ops: &[&Op], f: impl Fn(&Op) -> T) -> Vec<T> {
    ops.iter().map(|op| f(op)).collect()
}

impl Batch for FreshBegin {
    const NAME: &'static str = "begin";
    type Answer = i64;

    fn key(&self) -> &str {
        &self.key
    }

    async fn write(conn: &mut PgConnection, ops: &[&Self]) -> sqlx::Result<HashMap<String, i64>> {
        // The event's actor comes from the request row with the same key;
        // keys are distinct in a batch, so the join matches once.
        let rows = sqlx::query_as(
            r"WITH req AS (
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[],
                                     $5::uuid[], $6::text[])
                  AS r(key, fingerprint, owner, lease_ms, execution_id, actor)),
              ins AS (
                INSERT INTO idempotency_keys
                  (key, fingerprint, state, owner, fencing_token, lease_expires_at, execution_id)
                SELECT key, fingerprint, 'in_progress', owner, 1,
                       now() + lease_ms * interval '1 millisecond', execution_id
                FROM req
                ON CONFLICT (key) DO NOTHING
                RETURNING key, fencing_token),
              ev AS (
                INSERT INTO key_events (key, event, fencing_token, actor)
                SELECT ins.key, 'started', ins.fencing_token, req.actor
                FROM ins JOIN req USING (key))
            SELECT key, fencing_token FROM ins",
        )
        .bind(column(ops, |op| op.key.clone()))
        .bind(column(ops, |op| op.fingerprint.clone()))
        .bind(column(ops, |op| op.owner.clone()))
        .bind(column(ops, |op| op.lease_ms))
        .bind(column(ops, |op| op.execution_id))
        .bind(column(ops, |op| op.actor.clone()))
        .fetch_all(conn)
        .await?;
        Ok(by_key(rows))
    }
}

impl Batch for Guarded {
    const NAME: &'static str = "mark_attempted";
    type Answer = i64;

    fn key(&self) -> &str {
        &self.key
    }

    async fn write(conn: &mut PgConnection, ops: &[&Self]) -> sqlx::Result<HashMap<String, i64>> {
        let rows = sqlx::query_as(
            r"WITH req AS (
                SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[]) AS r(key, token, actor)),
              upd AS (
                UPDATE idempotency_keys k SET effect_attempted = true, updated_at = now()
                FROM req
                WHERE k.key = req.key AND k.fencing_token = req.token AND k.state = 'in_progress'
                RETURNING k.key, k.fencing_token, req.actor),
              ev AS (
                INSERT INTO key_events (key, event, fencing_token, actor)
                SELECT key, 'attempted', fencing_token, actor FROM upd)
            SELECT key, fencing_token FROM upd",
        )
        .bind(column(ops, |op| op.key.clone()))
        .bind(column(ops, |op| op.token))
        .bind(column(ops, |op| op.actor.clone()))
        .fetch_all(conn)
        .await?;
        Ok(by_key(rows))
    }
}

impl Batch for Completion {
    const NAME: &'static str = "complete";
    type Answer = Completed;

    fn key(&self) -> &str {
        &self.guarded.key
    }

    async fn write(
        conn: &mut PgConnection,
        ops: &[&Self],
    ) -> sqlx::Result<HashMap<String, Completed>> {
        if ops.iter().all(|op| op.then.is_none()) {
            let written = complete_keys(conn, ops).await?;
            let unmoved = Completed { moved: false };
            return Ok(written.into_keys().map(|key| (key, unmoved)).collect());
        }
        // The completions and the moves that ride on them commit together:
        // a crash cannot leave a completed effect unjournalled. A move whose
        // execution is elsewhere is not an error (the effect stands); its
        // caller is told and records it on its own.
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let written = complete_keys(&mut tx, ops).await?;
        let moves: Vec<&Move> = ops
            .iter()
            .filter(|op| written.contains_key(op.key()))
            .filter_map(|op| op.then.as_ref())
            .collect();
        let mut moved = HashSet::new();
        for round in distinct_executions(moves) {
            moved.extend(Move::write(&mut tx, &round).await?.into_keys());
        }
        tx.commit().await?;
        Ok(ops
            .iter()
            .filter(|op| written.contains_key(op.key()))
            .map(|op| {
                let moved = op.then.as_ref().is_some_and(|m| moved.contains(&m.key));
                (op.key().to_owned(), Completed { moved })
            })
            .collect())
    }
}

/// The completion statement: keys held with their token become completed.
async fn complete_keys(
    conn: &mut PgConnection,
    ops: &[&Completion],
) -> sqlx::Result<HashMap<String, i64>> {
    let rows = sqlx::query_as(
        r"WITH req AS (
            SELECT * FROM unnest($1::text[], $2::bigint[], $3::jsonb[], $4::text[])
              AS r(key, token, result, actor)),
          upd AS (
            UPDATE idempotency_keys k
            SET state = 'completed', result = req.result, lease_expires_at = NULL,
                updated_at = now()
            FROM req
            WHERE k.key = req.key AND k.fencing_token = req.token AND k.state = 'in_progress'
            RETURNING k.key, k.fencing_token, req.actor),
          ev AS (
            INSERT INTO key_events (key, event, fencing_token, actor)
            SELECT key, 'completed', fencing_token, actor FROM upd)
        SELECT key, fencing_token FROM upd",
    )
    .bind(column(ops, |op| op.guarded.key.clone()))
    .bind(column(ops, |op| op.guarded.token))
    .bind(column(ops, |op| op.result.clone()))
    .bind(column(ops, |op| op.guarded.actor.clone()))
    .fetch_all(conn)
    .await?;
    Ok(by_key(rows))
}

/// `moves` in statements of distinct executions each (two keys of one
/// execution completing in one batch, each with moves, take two), in order.
fn distinct_executions(moves: Vec<&Move>) -> Vec<Vec<&Move>> {
    let mut rounds: Vec<Vec<&Move>> = Vec::new();
    for m in moves {
        match rounds
            .iter_mut()
            .find(|round| round.iter().all(|other| other.key != m.key))
        {
            Some(round) => round.push(m),
            None => rounds.push(vec![m]),
        }
    }
    rounds
}

impl Batch for Move {
    const NAME: &'static str = "transition";
    type Answer = i64;

    fn key(&self) -> &str {
        &self.key
    }

    async fn write(conn: &mut PgConnection, ops: &[&Self]) -> sqlx::Result<HashMap<String, i64>> {
        // The execution's row is the compare-and-set (`state` = the first
        // step's `from`); it moves to the last step's `to` and its
        // `last_seq` grows by the number of steps, which number the
        // journal rows written with it. Answers with the last step's seq.
        let steps = || {
            ops.iter()
                .flat_map(|op| op.steps.iter().map(move |s| (*op, s)))
        };
        let index = || ops.iter().flat_map(|op| 1..=op.steps.len());
        let rows = sqlx::query_as(
            r"WITH req AS (
                SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::int[],
                                     $6::text[], $7::text[])
                  AS r(execution_id, from_state, to_state, steps, retries, exception_reason,
                       final_outcome)),
              step AS (
                SELECT * FROM unnest($8::uuid[], $9::int[], $10::text[], $11::text[],
                                     $12::text[], $13::text[], $14::jsonb[], $15::text[])
                  AS s(execution_id, idx, from_state, to_state, stage, generation, detail,
                       actor)),
              upd AS (
                UPDATE executions e
                SET state = req.to_state, updated_at = now(),
                    last_seq = e.last_seq + req.steps,
                    retry_count = e.retry_count + req.retries,
                    exception_reason = coalesce(req.exception_reason, e.exception_reason),
                    final_outcome = coalesce(req.final_outcome, e.final_outcome)
                FROM req
                WHERE e.execution_id = req.execution_id AND e.state = req.from_state
                RETURNING e.execution_id, e.last_seq, e.updated_at, req.steps),
              ins AS (
                INSERT INTO journal (execution_id, seq, from_state, to_state, at, stage,
                                     generation, detail, actor)
                SELECT step.execution_id, upd.last_seq - upd.steps + step.idx, step.from_state,
                       step.to_state, upd.updated_at, step.stage, step.generation, step.detail,
                       step.actor
                FROM step JOIN upd USING (execution_id))
            SELECT execution_id::text, last_seq FROM upd",
        )
        .bind(column(ops, |op| op.execution_id))
        .bind(column(ops, Move::first_from))
        .bind(column(ops, Move::last_to))
        .bind(column(ops, |op| {
            i32::try_from(op.steps.len()).unwrap_or(i32::MAX)
        }))
        .bind(column(ops, Move::retries))
        .bind(column(ops, |op| op.exception_reason.clone()))
        .bind(column(ops, |op| op.final_outcome.clone()))
        .bind(steps().map(|(op, _)| op.execution_id).collect::<Vec<_>>())
        .bind(
            index()
                .map(|i| i32::try_from(i).unwrap_or(i32::MAX))
                .collect::<Vec<_>>(),
        )
        .bind(steps().map(|(_, s)| s.from).collect::<Vec<_>>())
        .bind(steps().map(|(_, s)| s.to).collect::<Vec<_>>())
        .bind(steps().map(|(_, s)| s.stage.clone()).collect::<Vec<_>>())
        .bind(
            steps()
                .map(|(_, s)| s.generation.clone())
                .collect::<Vec<_>>(),
        )
        .bind(steps().map(|(_, s)| s.detail.clone()).collect::<Vec<_>>())
        .bind(steps().map(|(op, _)| op.actor.clone()).collect::<Vec<_>>())
        .fetch_all(conn)
        .await?;
        Ok(by_key(rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(key: &str) -> Pending<Guarded> {
        let (reply, _) = oneshot::channel();
        let op = Guarded {
            key: key.to_owned(),
            token: 1,
            actor: "svc".to_owned(),
        };
        Pending { op, reply }
    }

    fn keys(calls: &[Pending<Guarded>]) -> Vec<&str> {
        calls.iter().map(|p| p.op.key.as_str()).collect()
    }

    #[test]
    fn a_batch_holds_each_key_once_and_the_rest_wait_in_order() {
        let none = HashSet::new();
        let mut waiting: VecDeque<_> = ["a", "b", "a", "c", "a"].map(pending).into();
        let batch = take_batch(&mut waiting, &none);
        assert_eq!(keys(&batch), ["a", "b", "c"]);
        assert_eq!(keys(waiting.make_contiguous()), ["a", "a"]);
        let batch = take_batch(&mut waiting, &none);
        assert_eq!(keys(&batch), ["a"]);
        assert_eq!(waiting.len(), 1);
    }

    #[test]
    fn a_key_being_written_waits_for_its_statement() {
        let busy = HashSet::from(["a".to_owned()]);
        let mut waiting: VecDeque<_> = ["a", "b"].map(pending).into();
        assert_eq!(keys(&take_batch(&mut waiting, &busy)), ["b"]);
        assert_eq!(keys(waiting.make_contiguous()), ["a"]);
        assert!(take_batch(&mut waiting, &busy).is_empty());
        assert_eq!(keys(&take_batch(&mut waiting, &HashSet::new())), ["a"]);
    }

    #[test]
    fn lanes_leave_half_the_pool_to_other_calls() {
        assert_eq!(statements_per_lane(1), 1);
        assert_eq!(statements_per_lane(16), 2);
        assert_eq!(statements_per_lane(32), 4);
        assert_eq!(statements_per_lane(200), 4);
    }

    #[test]
    fn a_batch_stops_at_the_limit() {
        let mut waiting: VecDeque<_> = (0..MAX_BATCH + 2)
            .map(|i| pending(&format!("k{i}")))
            .collect();
        assert_eq!(take_batch(&mut waiting, &HashSet::new()).len(), MAX_BATCH);
        assert_eq!(keys(waiting.make_contiguous()), ["k128", "k129"]);
    }
}
