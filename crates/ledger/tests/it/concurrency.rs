//! Exactly one winner among concurrent claims, across ledger replicas.

use futures::future::join_all;
use sluice_ledger::BeginOutcome;
use sluice_testkit::{TestDb, TestLedger};

use crate::claim;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_begins_over_two_ledgers_start_exactly_once() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let first = TestLedger::start(&db).await?;
    let second = TestLedger::start(&db).await?;
    let calls = (0..50).map(|i| {
        let client = if i % 2 == 0 {
            first.client.clone()
        } else {
            second.client.clone()
        };
        let mut req = claim("contended", &format!("replica-{i}"));
        req.lease = std::time::Duration::from_secs(60);
        tokio::spawn(async move { client.begin(&req).await })
    });
    let mut started = 0;
    let mut in_progress = 0;
    for outcome in join_all(calls).await {
        match outcome?? {
            BeginOutcome::Started { fencing_token, .. } => {
                assert_eq!(fencing_token, 1);
                started += 1;
            }
            BeginOutcome::InProgress { .. } => in_progress += 1,
            other => anyhow::bail!("unexpected {other:?}"),
        }
    }
    assert_eq!((started, in_progress), (1, 49));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_takeovers_of_an_expired_lease_start_exactly_once() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let first = TestLedger::start(&db).await?;
    let second = TestLedger::start(&db).await?;
    crate::started(&first.client.begin(&claim("expired", "crashed")).await?)?;
    crate::wait_lease_expired(&db, "expired").await?;
    let calls = (0..20).map(|i| {
        let client = if i % 2 == 0 {
            first.client.clone()
        } else {
            second.client.clone()
        };
        let mut req = claim("expired", &format!("taker-{i}"));
        req.lease = std::time::Duration::from_secs(60);
        tokio::spawn(async move { client.begin(&req).await })
    });
    let mut tokens = Vec::new();
    for outcome in join_all(calls).await {
        if let BeginOutcome::Started { fencing_token, .. } = outcome?? {
            tokens.push(fencing_token);
        }
    }
    assert_eq!(tokens, vec![2]);
    Ok(())
}
