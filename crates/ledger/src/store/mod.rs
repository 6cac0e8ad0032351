//! The Postgres store behind the ledger.
//!
//! Correctness never rests on an in-process lock: several ledger replicas
//! share one database, so every decision is made inside Postgres — a row lock
//! (`SELECT … FOR UPDATE`) for `Begin`, and single guarded statements
//! (`UPDATE … WHERE fencing_token = $n AND state = …`) everywhere else.
//!
//! Group commit: the writes every execution makes many times over (a
//! fresh `Begin`, `MarkAttempted`, `Complete` with the moves it carries, a
//! transition or path of an existing execution) are queued per kind and
//! written many at a time, one statement and one commit per batch (see
//! [`group`]). The other
//! operations are functions over one `&mut PgConnection` (see [`keys`] and
//! [`executions`]) and [`Store`] opens the transaction around them.

pub(crate) mod audit;
mod backlog;
mod begin;
mod dead_letters;
pub mod decide;
mod erase;
mod escalations;
pub mod executions;
pub(crate) mod group;
pub mod keys;
mod paging;
mod replays;
mod retention;
mod revert;
mod review_decisions;
mod review_sla;
mod reviews;
mod switches;
pub mod validate;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions as _, Connection as _, PgPool};

use crate::error::{Error, Result, redact_url};

/// The embedded migrations (`migrations/` at the workspace root).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// A handle on the ledger's database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
    /// Started on first use, so a store can be made outside a runtime.
    group: Arc<OnceLock<group::GroupCommit>>,
    group_commit: bool,
}

impl Store {
    /// Connects to Postgres, failing fast with a clear, password-free error if
    /// the database cannot be reached.
    pub async fn connect(url: &str, max_connections: u32, timeout: Duration) -> Result<Self> {
        let connect_error = |err: &dyn std::fmt::Display| Error::Connect {
            url: redact_url(url),
            reason: one_line(err),
        };
        let options: PgConnectOptions = url.parse().map_err(|err| connect_error(&err))?;
        // One direct connection first: the pool would retry until its acquire
        // timeout and then report only "timed out", hiding the real reason.
        let probe = tokio::time::timeout(timeout, options.connect()).await;
        match probe {
            Ok(Ok(conn)) => conn.close().await.ok(),
            Ok(Err(err)) => return Err(connect_error(&err)),
            Err(_) => return Err(connect_error(&format!("no answer within {timeout:?}"))),
        };
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(timeout)
            .connect_lazy_with(options);
        Ok(Self::from_pool(pool))
    }

    /// Wraps an existing pool (tests, embedding).
    pub fn from_pool(pool: PgPool) -> Self {
        Self {
            pool,
            group: Arc::default(),
            group_commit: true,
        }
    }

    /// The same store writing every group-committable call as its own statement:
    /// the baseline the benchmark measures group commit against.
    #[must_use]
    pub fn without_group_commit(self) -> Self {
        Self {
            group: Arc::default(),
            group_commit: false,
            ..self
        }
    }

    /// Applies the embedded migrations. Safe to run from several replicas at
    /// once: sqlx takes an advisory lock.
    pub async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// The connection pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The group-commit lanes of this store's hot-path writes.
    pub(crate) fn group(&self) -> &group::GroupCommit {
        self.group
            .get_or_init(|| group::GroupCommit::start(&self.pool, self.group_commit))
    }

    /// Acquires one connection for a single-statement operation.
    pub(crate) async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Postgres>> {
        Ok(self.pool.acquire().await?)
    }
}

/// Flattens an error chain into one line for a start-up message.
fn one_line(err: &dyn std::fmt::Display) -> String {
    err.to_string().replace('\n', " ")
}
