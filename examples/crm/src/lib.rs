//! The example CRM of the `crm-enrichment` workflow: a Postgres database
//! with the accounts and the enrichment suggestions staged for them
//! (`schema.sql`, with a few seed accounts). The workflow's two `postgres`
//! actions write here: the staged suggestion, then the account's fields,
//! each with its idempotency key (and the previous values) in the same
//! database's `sluice_effects`.
//!
//! `sluice dev` and the end-to-end tests apply the schema to their CRM
//! database at start-up; `psql -f examples/crm/schema.sql` does the same by
//! hand.

use sqlx::{ConnectOptions as _, Connection as _};

/// The tables and seed accounts (idempotent: safe to apply again).
pub const SCHEMA: &str = include_str!("../schema.sql");

/// Applies [`SCHEMA`] to the database at `url`.
pub async fn prepare(url: &str) -> Result<(), sqlx::Error> {
    let options: sqlx::postgres::PgConnectOptions = url.parse()?;
    let mut conn = options.connect().await?;
    sqlx::raw_sql(SCHEMA).execute(&mut conn).await?;
    conn.close().await
}
