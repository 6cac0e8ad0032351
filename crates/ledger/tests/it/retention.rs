//! Key retention: the purge removes finished keys past the retention and
//! keeps everything a replay may still need; the settings tell callers the
//! retention.

use std::time::Duration;

use sluice_core::ExecutionId;
use sluice_ledger::{DEFAULT_KEY_RETENTION, Error, FailureKind, Store};
use sluice_testkit::{TestDb, TestLedger};

use crate::{claim, started};

const DAY: Duration = Duration::from_secs(86_400);

/// Makes `key` look unchanged for `days` (the purge reads `updated_at`).
async fn age(db: &TestDb, key: &str, days: i32) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET updated_at = now() - make_interval(days => $2) WHERE key = $1",
    )
    .bind(key)
    .bind(days)
    .execute(&db.pool().await?)
    .await?;
    Ok(())
}

#[tokio::test]
async fn the_purge_removes_old_finished_keys_only() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = TestLedger::start(&db).await?;
    let client = &ledger.client;
    let finished =
        |key: &'static str, kind: Option<FailureKind>, execution: Option<ExecutionId>| {
            let client = client.clone();
            async move {
                let mut begin = claim(key, "executor-1");
                begin.execution_id = execution;
                let token = started(&client.begin(&begin).await?)?;
                match kind {
                    None => client.complete(key, token, None).await?,
                    Some(kind) => client.fail(key, token, kind, "no table", None).await?,
                }
                anyhow::Ok(())
            }
        };
    finished("old-completed", None, None).await?;
    finished("old-failed", Some(FailureKind::Permanent), None).await?;
    finished("old-recoverable", Some(FailureKind::Recoverable), None).await?;
    finished("young-completed", None, None).await?;
    // Finished long ago, but its execution has an open dead letter: a
    // replay may still reach this key.
    let dead_lettered = crate::ops::dead_letter(5);
    finished("old-dead-lettered", None, dead_lettered.execution_id).await?;
    client.record_dead_letter(&dead_lettered).await?;
    started(
        &client
            .begin(&claim("old-in-progress", "executor-2"))
            .await?,
    )?;
    for key in [
        "old-completed",
        "old-failed",
        "old-recoverable",
        "old-dead-lettered",
        "old-in-progress",
    ] {
        age(&db, key, 40).await?;
    }
    age(&db, "young-completed", 20).await?;

    let store = Store::from_pool(db.pool().await?);
    assert_eq!(store.purge_keys(30 * DAY).await?, 2);
    for gone in ["old-completed", "old-failed"] {
        let err = client.get_key(gone).await.err();
        assert_eq!(
            err.as_ref().and_then(crate::code),
            Some(tonic::Code::NotFound)
        );
    }
    for kept in [
        "old-recoverable",
        "old-dead-lettered",
        "old-in-progress",
        "young-completed",
    ] {
        client.get_key(kept).await?;
    }
    // Their audit events went with them.
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM key_events WHERE key = 'old-completed'")
            .fetch_one(&db.pool().await?)
            .await?;
    assert_eq!(events, 0);
    // A second run finds nothing more.
    assert_eq!(store.purge_keys(30 * DAY).await?, 0);
    Ok(())
}

#[tokio::test]
async fn callers_learn_the_key_retention() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = crate::ops::secured(&db).await?;
    for token in [
        crate::ops::SERVICE,
        crate::ops::REVIEWER,
        crate::ops::SRE,
        crate::ops::ADMIN,
    ] {
        let settings = ledger.client(Some(token))?.get_settings().await?;
        assert_eq!(settings.key_retention, DEFAULT_KEY_RETENTION);
    }
    let anonymous = ledger.client(None)?.get_settings().await.err();
    assert!(
        matches!(anonymous, Some(Error::Status(s)) if s.code() == tonic::Code::Unauthenticated)
    );
    Ok(())
}
