//! Reviewed supersession of a fingerprint: only before any effect was
//! attempted or after a permanent failure, and always journalled.

use serde_json::json;
use sluice_ledger::{BeginOutcome, BeginRequest, FailureKind, LedgerClient};
use sluice_testkit::{TestDb, TestLedger};

use crate::{claim, started, wait_lease_expired};

fn reviewed(key: &str, review: &str) -> BeginRequest {
    BeginRequest {
        fingerprint: "fp-corrected".into(),
        supersede_review: Some(review.into()),
        ..claim(key, "executor-after-review")
    }
}

async fn superseded_by(db: &TestDb, key: &str) -> anyhow::Result<Vec<(String, Option<String>)>> {
    Ok(sqlx::query_as(
        "SELECT event, review_id FROM key_events WHERE key = $1 AND event = 'superseded'",
    )
    .bind(key)
    .fetch_all(&db.pool().await?)
    .await?)
}

fn is_conflict(outcome: &BeginOutcome) -> bool {
    matches!(outcome, BeginOutcome::Conflict { .. })
}

#[tokio::test]
async fn allowed_while_no_effect_was_attempted() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = TestLedger::start(&db).await?;
    let c: &LedgerClient = &ledger.client;
    let token = started(&c.begin(&claim("k", "a")).await?)?;
    wait_lease_expired(&db, "k").await?;

    let without_review = BeginRequest {
        supersede_review: None,
        ..reviewed("k", "r-1")
    };
    assert!(is_conflict(&c.begin(&without_review).await?));

    let new = started(&c.begin(&reviewed("k", "r-1")).await?)?;
    assert!(new > token);
    let record = c.get_key("k").await?;
    assert_eq!(record.fingerprint, "fp-corrected");
    assert_eq!(record.superseded_by_review.as_deref(), Some("r-1"));
    let events = superseded_by(&db, "k").await?;
    assert_eq!(
        events,
        vec![("superseded".to_owned(), Some("r-1".to_owned()))]
    );

    // A recoverable failure without an attempted effect may be superseded too.
    c.fail(
        "k",
        new,
        FailureKind::Recoverable,
        "timeout before sending",
        None,
    )
    .await?;
    started(
        &c.begin(&BeginRequest {
            fingerprint: "fp-3".into(),
            ..reviewed("k", "r-2")
        })
        .await?,
    )?;
    assert_eq!(superseded_by(&db, "k").await?.len(), 2);
    Ok(())
}

#[tokio::test]
async fn allowed_after_a_permanent_failure() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = TestLedger::start(&db).await?;
    let c = &ledger.client;
    let token = started(&c.begin(&claim("k", "a")).await?)?;
    c.mark_attempted("k", token).await?;
    c.fail("k", token, FailureKind::Permanent, "422 invalid date", None)
        .await?;
    started(&c.begin(&reviewed("k", "r-9")).await?)?;
    assert_eq!(superseded_by(&db, "k").await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn refused_after_an_attempted_effect_a_completion_or_during_a_live_lease()
-> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = TestLedger::start(&db).await?;
    let c = &ledger.client;

    // Live lease.
    started(&c.begin(&claim("live", "a")).await?)?;
    assert!(is_conflict(&c.begin(&reviewed("live", "r-1")).await?));

    // Expired lease after an attempted effect.
    let token = started(&c.begin(&claim("attempted", "a")).await?)?;
    c.mark_attempted("attempted", token).await?;
    wait_lease_expired(&db, "attempted").await?;
    assert!(is_conflict(&c.begin(&reviewed("attempted", "r-2")).await?));

    // Completed.
    let token = started(&c.begin(&claim("done", "a")).await?)?;
    c.complete("done", token, Some(json!({"ok": true}))).await?;
    assert!(is_conflict(&c.begin(&reviewed("done", "r-3")).await?));

    for key in ["live", "attempted", "done"] {
        assert!(superseded_by(&db, key).await?.is_empty(), "{key}");
    }
    Ok(())
}
