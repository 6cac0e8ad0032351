//! The purge of finished idempotency keys.
//!
//! A key must outlive every replay that could reach its effect again, or the
//! replay would find no key and perform the effect a second time; so only
//! keys that are finished (completed or permanently failed), unchanged for
//! longer than the retention and not tied to an open dead letter are
//! removed. Keys in progress or failed recoverably are never purged: their
//! executions are still moving.

use std::time::Duration;

use super::Store;
use crate::error::Result;

/// Keys deleted per statement, so a large backlog never holds long locks.
const BATCH: i64 = 1000;

impl Store {
    /// Deletes finished keys (and, by cascade, their key events) last
    /// changed more than `retention` ago (database clock); returns how many.
    pub async fn purge_keys(&self, retention: Duration) -> Result<u64> {
        let age = retention.as_secs_f64();
        let mut total = 0;
        loop {
            let deleted = sqlx::query!(
                r#"DELETE FROM idempotency_keys WHERE key IN (
                     SELECT k.key FROM idempotency_keys k
                     WHERE k.state IN ('completed', 'failed_permanent')
                       AND k.updated_at < now() - $1 * interval '1 second'
                       -- An open dead letter may still be replayed into this key.
                       AND NOT EXISTS (
                         SELECT 1 FROM dead_letters d
                         WHERE d.execution_id = k.execution_id AND d.status = 'OPEN')
                     LIMIT $2
                     FOR UPDATE SKIP LOCKED)"#,
                age,
                BATCH
            )
            .execute(self.pool())
            .await?
            .rows_affected();
            total += deleted;
            if deleted < u64::try_from(BATCH).unwrap_or(u64::MAX) {
                return Ok(total);
            }
        }
    }
}
