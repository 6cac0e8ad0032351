//! The dead-letter index: one entry per original message, filters, paging.

use sluice_core::FailureClass;
use sluice_ledger::{DeadLetterFilter, DeadLetterStatus};
use sluice_testkit::TestDb;
use tonic::Code;

use crate::code;
use crate::ops::{ADMIN, SRE, dead_letter, secured};

#[tokio::test]
async fn one_message_reported_twice_is_one_entry() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = secured(&db).await?;
    let first = ledger.client.record_dead_letter(&dead_letter(7)).await?;
    assert!(first.created);
    assert_eq!(first.dead_letter.status, DeadLetterStatus::Open);
    assert_eq!(first.dead_letter.payload, br#"{"v":1}"#.to_vec());
    assert_eq!(first.dead_letter.headers["Sluice-Generation"], vec!["0"]);

    // The advisory path reports the same message: no copy in the DLQ stream,
    // more deliveries, another wording. The entry stays as it was.
    let mut advisory = dead_letter(7);
    advisory.dlq_stream = String::new();
    advisory.dlq_sequence = 0;
    advisory.attempts = 5;
    advisory.reason = "max deliveries".into();
    let second = ledger.client.record_dead_letter(&advisory).await?;
    assert!(!second.created);
    assert_eq!(second.dead_letter, first.dead_letter);

    let sre = ledger.client(Some(SRE))?;
    let page = sre.list_dead_letters(&DeadLetterFilter::default()).await?;
    assert_eq!(page.dead_letters.len(), 1);
    Ok(())
}

#[tokio::test]
async fn malformed_input_without_an_execution_is_indexed() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = secured(&db).await?;
    let mut undecodable = dead_letter(1);
    undecodable.execution_id = None;
    undecodable.correlation_id = String::new();
    undecodable.reason = "x".repeat(10_000) + "\n\0";
    let recorded = ledger.client.record_dead_letter(&undecodable).await?;
    assert_eq!(recorded.dead_letter.execution_id, None);
    assert!(recorded.dead_letter.reason.len() <= 4096);

    let mut bad = dead_letter(2);
    bad.stream_sequence = 0;
    let err = ledger.client.record_dead_letter(&bad).await.err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::InvalidArgument));
    Ok(())
}

/// Every filter but one left open.
fn by(set: impl FnOnce(&mut DeadLetterFilter)) -> DeadLetterFilter {
    let mut filter = DeadLetterFilter::default();
    set(&mut filter);
    filter
}

#[tokio::test]
async fn dead_letters_are_filtered_and_paged() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = secured(&db).await?;
    for seq in 1..=5 {
        ledger.client.record_dead_letter(&dead_letter(seq)).await?;
    }
    let mut other = dead_letter(6);
    other.stage = "interpret".into();
    other.workflow = "refund".into();
    other.failure_class = FailureClass::Temporary;
    other.reason = "Model TIMEOUT after 3 attempts".into();
    ledger.client.record_dead_letter(&other).await?;
    let admin = ledger.client(Some(ADMIN))?;
    admin.discard_dead_letter(1, "duplicate of 2").await?;

    let count = |filter: DeadLetterFilter| {
        let admin = admin.clone();
        async move { anyhow::Ok(admin.list_dead_letters(&filter).await?.dead_letters.len()) }
    };
    let all = DeadLetterFilter::default();
    assert_eq!(count(all.clone()).await?, 6);
    assert_eq!(count(by(|f| f.stage = Some("interpret".into()))).await?, 1);
    assert_eq!(
        count(by(|f| f.workflow = Some("reservation".into()))).await?,
        5
    );
    let temporary = Some(FailureClass::Temporary);
    assert_eq!(count(by(|f| f.failure_class = temporary)).await?, 1);
    assert_eq!(
        count(by(|f| f.reason_contains = Some("timeout".into()))).await?,
        1
    );
    assert_eq!(
        count(by(|f| f.reason_contains = Some("422".into()))).await?,
        5
    );
    let discarded = Some(DeadLetterStatus::Discarded);
    assert_eq!(count(by(|f| f.status = discarded)).await?, 1);
    assert_eq!(
        count(by(|f| f.correlation_id = Some("corr-3".into()))).await?,
        1
    );
    let future = Some(chrono::Utc::now() + chrono::Duration::hours(1));
    assert_eq!(count(by(|f| f.since = future)).await?, 0);
    let past = Some(chrono::Utc::now() - chrono::Duration::hours(1));
    assert_eq!(count(by(|f| f.until = past)).await?, 0);

    // Pages of two, newest first, each entry exactly once.
    let mut filter = DeadLetterFilter {
        limit: 2,
        ..all.clone()
    };
    let mut seen = Vec::new();
    loop {
        let page = admin.list_dead_letters(&filter).await?;
        seen.extend(page.dead_letters.iter().map(|d| d.stream_sequence));
        if page.next_page_token.is_empty() {
            break;
        }
        filter.page_token = page.next_page_token;
    }
    assert_eq!(seen, vec![6, 5, 4, 3, 2, 1]);
    Ok(())
}
