//! The key-state table, one row per test.

use serde_json::json;
use sluice_ledger::{BeginOutcome, FailureKind};
use sluice_testkit::{TestDb, TestLedger};
use tonic::Code;

use crate::{claim, code, started, wait_lease_expired};

#[tokio::test]
async fn absent_key_starts_with_a_fencing_token() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = TestLedger::start(&db).await?;
    let outcome = ledger.client.begin(&claim("k", "a")).await?;
    assert_eq!(
        outcome,
        BeginOutcome::Started {
            fencing_token: 1,
            resume_from: None,
            attempt: 1
        }
    );
    let record = ledger.client.get_key("k").await?;
    assert_eq!(
        (record.state.as_str(), record.owner.as_str()),
        ("in_progress", "a")
    );
    Ok(())
}

#[tokio::test]
async fn live_lease_answers_in_progress() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = TestLedger::start(&db).await?;
    let mut long = claim("k", "a");
    long.lease = std::time::Duration::from_secs(60);
    started(&ledger.client.begin(&long).await?)?;
    match ledger.client.begin(&claim("k", "b")).await? {
        BeginOutcome::InProgress { owner, .. } => assert_eq!(owner, "a"),
        other => anyhow::bail!("expected IN_PROGRESS, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn expired_lease_before_any_effect_restarts_and_fences_the_old_owner() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = TestLedger::start(&db).await?;
    let old = started(&ledger.client.begin(&claim("k", "a")).await?)?;
    wait_lease_expired(&db, "k").await?;

    let new = started(&ledger.client.begin(&claim("k", "b")).await?)?;
    assert!(new > old, "new token {new} must exceed {old}");

    let stale = ledger
        .client
        .complete("k", old, Some(json!({"late": true})))
        .await;
    assert_eq!(
        stale.as_ref().err().and_then(code),
        Some(Code::Aborted),
        "{stale:?}"
    );
    let stale = ledger.client.heartbeat("k", old, crate::SHORT_LEASE).await;
    assert_eq!(stale.as_ref().err().and_then(code), Some(Code::Aborted));
    let stale = ledger.client.mark_attempted("k", old).await;
    assert_eq!(stale.as_ref().err().and_then(code), Some(Code::Aborted));

    ledger
        .client
        .complete("k", new, Some(json!({"booking": 7})))
        .await?;
    // A retried Complete with the current token is harmless.
    ledger
        .client
        .complete("k", new, Some(json!({"booking": 7})))
        .await?;
    let record = ledger.client.get_key("k").await?;
    assert_eq!(record.result, Some(json!({"booking": 7})));
    assert_eq!(record.attempts, 2);
    Ok(())
}

#[tokio::test]
async fn completed_key_returns_the_stored_result() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = TestLedger::start(&db).await?;
    let token = started(&ledger.client.begin(&claim("k", "a")).await?)?;
    ledger.client.mark_attempted("k", token).await?;
    ledger
        .client
        .complete("k", token, Some(json!({"booking": "B-1"})))
        .await?;
    let again = ledger.client.begin(&claim("k", "b")).await?;
    assert_eq!(
        again,
        BeginOutcome::Completed {
            result: Some(json!({"booking": "B-1"}))
        }
    );
    Ok(())
}

#[tokio::test]
async fn recoverable_failure_starts_again_from_its_recovery_point() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = TestLedger::start(&db).await?;
    let token = started(&ledger.client.begin(&claim("k", "a")).await?)?;
    let point = json!({"step": "payment", "cart": 3});
    let c = &ledger.client;
    c.fail(
        "k",
        token,
        FailureKind::Recoverable,
        "503 from target",
        Some(point.clone()),
    )
    .await?;
    match ledger.client.begin(&claim("k", "b")).await? {
        BeginOutcome::Started {
            fencing_token,
            resume_from,
            attempt,
        } => {
            assert!(fencing_token > token);
            assert_eq!(resume_from, Some(point));
            assert_eq!(attempt, 2);
        }
        other => anyhow::bail!("expected STARTED, got {other:?}"),
    }
    Ok(())
}

#[tokio::test]
async fn permanent_failure_is_reported_with_its_reason() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = TestLedger::start(&db).await?;
    let token = started(&ledger.client.begin(&claim("k", "a")).await?)?;
    let c = &ledger.client;
    c.fail(
        "k",
        token,
        FailureKind::Permanent,
        "422 unknown table",
        None,
    )
    .await?;
    let again = ledger.client.begin(&claim("k", "b")).await?;
    assert_eq!(
        again,
        BeginOutcome::FailedPermanent {
            reason: "422 unknown table".into()
        }
    );
    Ok(())
}

#[tokio::test]
async fn a_different_fingerprint_conflicts() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = TestLedger::start(&db).await?;
    started(&ledger.client.begin(&claim("k", "a")).await?)?;
    let mut other = claim("k", "b");
    other.fingerprint = "fp-2".into();
    let outcome = ledger.client.begin(&other).await?;
    assert_eq!(
        outcome,
        BeginOutcome::Conflict {
            recorded_fingerprint: "fp-1".into()
        }
    );
    Ok(())
}

#[tokio::test]
async fn expired_lease_after_an_attempted_effect_depends_on_the_target() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = TestLedger::start(&db).await?;
    let token = started(&ledger.client.begin(&claim("k", "a")).await?)?;
    ledger.client.mark_attempted("k", token).await?;
    wait_lease_expired(&db, "k").await?;

    match ledger.client.begin(&claim("k", "b")).await? {
        BeginOutcome::Unknown { last_owner, .. } => assert_eq!(last_owner, "a"),
        other => anyhow::bail!("expected UNKNOWN, got {other:?}"),
    }
    let mut honouring = claim("k", "c");
    honouring.target_honours_keys = true;
    let retry = started(&ledger.client.begin(&honouring).await?)?;
    assert!(retry > token);
    // The takeover keeps knowing that an effect may have been attempted.
    assert!(ledger.client.get_key("k").await?.effect_attempted);
    Ok(())
}

#[tokio::test]
async fn heartbeat_extends_the_lease() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = TestLedger::start(&db).await?;
    let token = started(&ledger.client.begin(&claim("k", "a")).await?)?;
    let first = ledger.client.get_key("k").await?.lease_expires_at;
    let renewed = ledger
        .client
        .heartbeat("k", token, std::time::Duration::from_secs(60))
        .await?;
    assert!(Some(renewed) > first);
    // Past the original expiry on the database clock, the key is still held.
    let pool = db.pool().await?;
    sluice_testkit::eventually("original lease passed", crate::SHORT_LEASE * 20, || async {
        let passed: bool = sqlx::query_scalar("SELECT now() > $1")
            .bind(first)
            .fetch_one(&pool)
            .await?;
        sluice_testkit::eventually::check(passed, || "not yet".into())
    })
    .await?;
    let outcome = ledger.client.begin(&claim("k", "b")).await?;
    assert!(
        matches!(outcome, BeginOutcome::InProgress { .. }),
        "{outcome:?}"
    );
    Ok(())
}

#[tokio::test]
async fn bad_requests_are_invalid_arguments_and_unknown_keys_not_found() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = TestLedger::start(&db).await?;
    let mut empty = claim("k", "a");
    empty.fingerprint.clear();
    let err = ledger.client.begin(&empty).await.err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::InvalidArgument));
    let err = ledger.client.begin(&claim("", "a")).await.err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::InvalidArgument));
    let err = ledger.client.get_key("nope").await.err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::NotFound));
    let err = ledger.client.complete("nope", 1, None).await.err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::NotFound));
    Ok(())
}
