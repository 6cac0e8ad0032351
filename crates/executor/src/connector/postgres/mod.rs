//! `postgres`: a declared write against a *target* database (the CRM's,
//! never Sluice's own).
//!
//! The workflow names a table, its key column and the columns to write
//! (the action's `body`: `column = "{contract_field}"`). One transaction
//! claims the idempotency key in the target's own `sluice_effects` table,
//! reads the row's current values of those columns (`FOR UPDATE`), writes
//! the new ones and stores both with the key. The effect and its key commit
//! together: a repeat finds the key and answers what was stored, whatever
//! the ledger knows, and the previous values make the write revertible.
//!
//! Values are cast by the table's own column types through
//! `jsonb_populate_record`, so no type is guessed here. Table and column
//! names are checked identifiers, always quoted: nothing from a contract
//! ever becomes SQL text.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde_json::Value;
use sluice_core::FailureClass;
use sqlx::postgres::{PgPool, PgPoolOptions};

use self::sql::{
    claim, classify, columns, current, delete, insert, record, stored, text_of, update,
};
use super::{Applied, Called, Probed};

mod sql;

/// What a `postgres` action writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTarget {
    /// The target database (from the executor's per-action settings, so
    /// the secret stays out of the workflow).
    pub database_url: String,
    /// The table.
    pub table: String,
    /// Its key column; the body must give its value.
    pub key_column: String,
    /// `update` an existing row, or `insert` a new one.
    pub mode: PgMode,
}

/// How the row is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgMode {
    /// Update the body's columns of the row with the body's key.
    Update,
    /// Insert the body as a new row (a staged write).
    Insert,
}

/// Whether `name` may be used as a table or column name.
pub fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

const EFFECTS_TABLE: &str = "CREATE TABLE IF NOT EXISTS sluice_effects (
    key text PRIMARY KEY,
    target text NOT NULL,
    row_key text,
    previous jsonb,
    applied jsonb,
    applied_at timestamptz NOT NULL DEFAULT now())";

/// Creates the key table if it is missing. Two first calls racing may both
/// try; the loser's "already exists" is success.
async fn ensure_effects(pool: &PgPool) -> Result<(), Fail> {
    match sqlx::query(EFFECTS_TABLE).execute(pool).await {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(db))
            if matches!(db.code().as_deref(), Some("23505" | "42P07")) =>
        {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Connection pools by target database, opened on first use.
#[derive(Debug, Clone, Default)]
pub struct PgTargets {
    pools: Arc<Mutex<HashMap<String, PgPool>>>,
}

/// A call's failure before anything could have committed, or after.
pub(crate) enum Fail {
    Before(FailureClass, String),
    Unknown(String),
}

impl From<sqlx::Error> for Fail {
    fn from(err: sqlx::Error) -> Self {
        Fail::Before(classify(&err), err.to_string())
    }
}

impl PgTargets {
    fn pool(&self, url: &str, timeout: Duration) -> Result<PgPool, Fail> {
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(pool) = pools.get(url) {
            return Ok(pool.clone());
        }
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(timeout)
            .connect_lazy(url)
            .map_err(|e| Fail::Before(FailureClass::Permanent, format!("database url: {e}")))?;
        pools.insert(url.to_owned(), pool.clone());
        Ok(pool)
    }

    /// Writes `body` under `key` (see the module docs).
    pub async fn apply(
        &self,
        target: &PgTarget,
        timeout: Duration,
        key: &str,
        body: &Value,
    ) -> Called {
        let (target, key, body) = (target.clone(), key.to_owned(), body.clone());
        let pool = match self.pool(&target.database_url, timeout) {
            Ok(pool) => pool,
            Err(fail) => return settle(Ok(Err(fail))),
        };
        let run = async move { apply(&pool, &target, &key, &body).await };
        settle(tokio::time::timeout(timeout, to_completion(run)).await)
    }

    /// Undoes the effect stored under `key`, as the effect
    /// `compensation_key`: an update gets its previous values back, an
    /// inserted row is deleted. Once, and only if the row still holds what
    /// was applied (a person may have changed it since).
    pub async fn revert(
        &self,
        target: &PgTarget,
        timeout: Duration,
        key: &str,
        compensation_key: &str,
    ) -> Called {
        let (target, key, comp) = (target.clone(), key.to_owned(), compensation_key.to_owned());
        let pool = match self.pool(&target.database_url, timeout) {
            Ok(pool) => pool,
            Err(fail) => return settle(Ok(Err(fail))),
        };
        let run = async move { revert(&pool, &target, &key, &comp).await };
        settle(tokio::time::timeout(timeout, to_completion(run)).await)
    }

    /// Whether the target has an effect under `key`.
    pub async fn probe(&self, target: &PgTarget, timeout: Duration, key: &str) -> Probed {
        let run = async {
            let pool = self.pool(&target.database_url, timeout)?;
            ensure_effects(&pool).await?;
            let mut conn = pool.acquire().await?;
            stored(&mut conn, key).await
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(Ok(Some(applied))) => Probed::Found(applied),
            Ok(Ok(None)) => Probed::NotFound,
            Ok(Err(Fail::Before(_, reason) | Fail::Unknown(reason))) => Probed::Failed(reason),
            Err(_) => Probed::Failed(format!("probe timed out after {timeout:?}")),
        }
    }
}

/// Runs `work` on its own task, so a timeout stops the wait, never the
/// transaction: dropped between queueing `BEGIN` and reading its answer,
/// sqlx 0.9.0 hands the connection back to the pool inside an open
/// transaction it no longer tracks, and later writes on it are silently
/// lost (transact-rs/sqlx#4385). The work commits or rolls back on its own;
/// the key row then tells a probe which.
async fn to_completion<T: Send + 'static>(
    work: impl Future<Output = Result<T, Fail>> + Send + 'static,
) -> Result<T, Fail> {
    match tokio::spawn(work).await {
        Ok(done) => done,
        Err(err) => Err(Fail::Unknown(format!(
            "the database call did not finish: {err}"
        ))),
    }
}

fn settle(outcome: Result<Result<Applied, Fail>, tokio::time::error::Elapsed>) -> Called {
    match outcome {
        Ok(Ok(applied)) => Called::Applied(applied),
        Ok(Err(Fail::Before(class, reason))) => Called::Failed { class, reason },
        Ok(Err(Fail::Unknown(reason))) => Called::Ambiguous { reason },
        // The commit may have been in flight: only the key row can tell.
        Err(_) => Called::Ambiguous {
            reason: "timed out; the transaction may have committed".into(),
        },
    }
}

async fn apply(pool: &PgPool, target: &PgTarget, key: &str, body: &Value) -> Result<Applied, Fail> {
    let permanent = |reason: String| Fail::Before(FailureClass::Permanent, reason);
    let fields = body
        .as_object()
        .ok_or_else(|| permanent("the body must be an object of columns".into()))?;
    let columns = columns(fields, target)?;
    let row = fields
        .get(&target.key_column)
        .map(text_of)
        .ok_or_else(|| permanent(format!("the body has no {:?}", target.key_column)))?;
    ensure_effects(pool).await?;
    let mut tx = pool.begin().await?;
    if !claim(&mut tx, key, &target.table, &row).await? {
        tx.rollback().await?;
        let mut conn = pool.acquire().await?;
        return stored(&mut conn, key)
            .await?
            .ok_or_else(|| Fail::Unknown("key claimed but not readable".into()));
    }
    let previous = match target.mode {
        PgMode::Update => {
            let current = current(&mut tx, target, &row, &columns).await?;
            let Some(current) = current else {
                return Err(permanent(format!("{} has no row {row:?}", target.table)));
            };
            update(&mut tx, target, &row, &columns, body).await?;
            Some(current)
        }
        PgMode::Insert => {
            insert(&mut tx, target, &columns, body).await?;
            None
        }
    };
    // Read back in the columns' own types: what a revert compares against.
    let applied = current(&mut tx, target, &row, &columns)
        .await?
        .ok_or_else(|| permanent(format!("{} row {row:?} not readable", target.table)))?;
    record(&mut tx, key, previous.as_ref(), &applied).await?;
    // A commit whose answer is lost may still have happened.
    tx.commit()
        .await
        .map_err(|e| Fail::Unknown(format!("commit: {e}")))?;
    let mut conn = pool.acquire().await?;
    stored(&mut conn, key)
        .await?
        .ok_or_else(|| Fail::Unknown("committed but not readable".into()))
}

async fn revert(pool: &PgPool, target: &PgTarget, key: &str, comp: &str) -> Result<Applied, Fail> {
    let permanent = |reason: String| Fail::Before(FailureClass::Permanent, reason);
    ensure_effects(pool).await?;
    let mut conn = pool.acquire().await?;
    let original = stored(&mut conn, key)
        .await?
        .ok_or_else(|| permanent(format!("no effect under {key:?} to revert")))?;
    drop(conn);
    let previous = original.body.get("previous").cloned();
    let applied = original.body.get("applied").cloned().unwrap_or(Value::Null);
    let (Value::Object(columns), Some(row)) = (&applied, original.external_id) else {
        return Err(permanent("the effect stored no applied values".into()));
    };
    let columns: Vec<String> = columns.keys().cloned().collect();
    let mut tx = pool.begin().await?;
    if !claim(&mut tx, comp, &target.table, &row).await? {
        tx.rollback().await?;
        let mut conn = pool.acquire().await?;
        return stored(&mut conn, comp)
            .await?
            .ok_or_else(|| Fail::Unknown("key claimed but not readable".into()));
    }
    // Only what the effect wrote is undone: a row a person changed since is
    // left alone and the revert goes to review.
    let before = current(&mut tx, target, &row, &columns).await?;
    if before.as_ref() != Some(&applied) {
        return Err(permanent(format!(
            "{} {row:?} changed since the effect (now {}); not reverting",
            target.table,
            before.unwrap_or(Value::Null)
        )));
    }
    let restored = match previous {
        // An update: put the previous values back, and read them back.
        Some(Value::Object(previous)) => {
            let columns: Vec<String> = previous.keys().cloned().collect();
            let mut back = previous.clone();
            back.insert(target.key_column.clone(), Value::String(row.clone()));
            update(&mut tx, target, &row, &columns, &Value::Object(back)).await?;
            let now = current(&mut tx, target, &row, &columns).await?;
            if now.as_ref() != Some(&Value::Object(previous.clone())) {
                return Err(permanent(
                    "the row did not read back as its previous values".into(),
                ));
            }
            Value::Object(previous)
        }
        // An insert (a staged write): the row goes.
        _ if target.mode == PgMode::Insert => {
            delete(&mut tx, target, &row).await?;
            if current(&mut tx, target, &row, &columns).await?.is_some() {
                return Err(permanent("the staged row is still there".into()));
            }
            Value::Null
        }
        _ => return Err(permanent("the effect stored no previous values".into())),
    };
    record(&mut tx, comp, Some(&applied), &restored).await?;
    tx.commit()
        .await
        .map_err(|e| Fail::Unknown(format!("commit: {e}")))?;
    let mut conn = pool.acquire().await?;
    stored(&mut conn, comp)
        .await?
        .ok_or_else(|| Fail::Unknown("committed but not readable".into()))
}

#[cfg(test)]
mod tests {
    use super::is_identifier;

    #[test]
    fn only_plain_lower_case_names_are_identifiers() {
        for good in ["accounts", "_x", "crm_staging2"] {
            assert!(is_identifier(good), "{good}");
        }
        for bad in [
            "",
            "Accounts",
            "2x",
            "a-b",
            "a\"; drop table x; --",
            "a b",
            "t.x",
        ] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }
}
