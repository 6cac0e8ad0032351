//! The statements of the `postgres` connector. Table and column names are
//! checked identifiers ([`super::is_identifier`]), always quoted; every
//! value is a bind parameter.

use serde_json::{Map, Value, json};
use sluice_core::FailureClass;
use sqlx::{Postgres, Row as _, Transaction};

use super::{Fail, PgMode, PgTarget, is_identifier};
use crate::connector::Applied;

/// The body's columns other than the key (for an update), or all of them
/// (for an insert), each a checked identifier.
pub(super) fn columns(fields: &Map<String, Value>, target: &PgTarget) -> Result<Vec<String>, Fail> {
    let mut out = Vec::new();
    for name in fields.keys() {
        if !is_identifier(name) {
            return Err(Fail::Before(
                FailureClass::Permanent,
                format!("{name:?} is not a column name"),
            ));
        }
        if target.mode == PgMode::Insert || *name != target.key_column {
            out.push(name.clone());
        }
    }
    Ok(out)
}

/// SQL built from checked identifiers only ([`is_identifier`], quoted);
/// every value is a bind parameter.
fn checked(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

pub(super) fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Claims `key`; `false` when it was already there.
pub(super) async fn claim(
    tx: &mut Transaction<'_, Postgres>,
    key: &str,
    table: &str,
    row: &str,
) -> Result<bool, Fail> {
    let done = sqlx::query(
        "INSERT INTO sluice_effects (key, target, row_key) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(table)
    .bind(row)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn current(
    tx: &mut Transaction<'_, Postgres>,
    target: &PgTarget,
    row: &str,
    columns: &[String],
) -> Result<Option<Value>, Fail> {
    let sql = format!(
        "SELECT jsonb_build_object({}) FROM \"{t}\" WHERE \"{k}\"::text = $1 FOR UPDATE",
        columns
            .iter()
            .map(|c| format!("'{c}', \"{c}\""))
            .collect::<Vec<_>>()
            .join(", "),
        t = target.table,
        k = target.key_column,
    );
    Ok(sqlx::query_scalar(checked(sql))
        .bind(row)
        .fetch_optional(&mut **tx)
        .await?)
}

pub(super) async fn update(
    tx: &mut Transaction<'_, Postgres>,
    target: &PgTarget,
    row: &str,
    columns: &[String],
    body: &Value,
) -> Result<(), Fail> {
    let sql = format!(
        "UPDATE \"{t}\" SET ({cols}) = (SELECT {cols} FROM jsonb_populate_record(NULL::\"{t}\", $1)) \
         WHERE \"{k}\"::text = $2",
        t = target.table,
        k = target.key_column,
        cols = quoted(columns),
    );
    sqlx::query(checked(sql))
        .bind(body)
        .bind(row)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(super) async fn insert(
    tx: &mut Transaction<'_, Postgres>,
    target: &PgTarget,
    columns: &[String],
    body: &Value,
) -> Result<(), Fail> {
    let sql = format!(
        "INSERT INTO \"{t}\" ({cols}) SELECT {cols} FROM jsonb_populate_record(NULL::\"{t}\", $1)",
        t = target.table,
        cols = quoted(columns),
    );
    sqlx::query(checked(sql))
        .bind(body)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes the row with key `row`; how many went.
pub(super) async fn delete(
    tx: &mut Transaction<'_, Postgres>,
    target: &PgTarget,
    row: &str,
) -> Result<u64, Fail> {
    let sql = format!(
        "DELETE FROM \"{t}\" WHERE \"{k}\"::text = $1",
        t = target.table,
        k = target.key_column,
    );
    let done = sqlx::query(checked(sql))
        .bind(row)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected())
}

pub(super) async fn record(
    tx: &mut Transaction<'_, Postgres>,
    key: &str,
    previous: Option<&Value>,
    applied: &Value,
) -> Result<(), Fail> {
    sqlx::query("UPDATE sluice_effects SET previous = $2, applied = $3 WHERE key = $1")
        .bind(key)
        .bind(previous)
        .bind(applied)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The effect stored under `key`, as an answer: `{table, row, previous,
/// applied}` with the row's key as the external id.
pub(super) async fn stored(
    conn: &mut sqlx::PgConnection,
    key: &str,
) -> Result<Option<Applied>, Fail> {
    let row =
        sqlx::query("SELECT target, row_key, previous, applied FROM sluice_effects WHERE key = $1")
            .bind(key)
            .fetch_optional(conn)
            .await?;
    let Some(row) = row else { return Ok(None) };
    let table: String = row.try_get("target")?;
    let row_key: Option<String> = row.try_get("row_key")?;
    let previous: Option<Value> = row.try_get("previous")?;
    let applied: Option<Value> = row.try_get("applied")?;
    Ok(Some(Applied {
        status: 200,
        body: json!({ "table": table, "row": row_key, "previous": previous, "applied": applied }),
        external_id: row_key,
    }))
}

/// Connection trouble is temporary; what the database refused is permanent.
pub(super) fn classify(err: &sqlx::Error) -> FailureClass {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
            FailureClass::Temporary
        }
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // Serialization failure, deadlock, too many connections, shutting down.
            Some("40001" | "40P01" | "53300" | "57P01" | "57P03") => FailureClass::Temporary,
            _ => FailureClass::Permanent,
        },
        _ => FailureClass::Temporary,
    }
}
