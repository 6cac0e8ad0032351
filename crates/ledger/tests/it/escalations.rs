//! Escalation webhooks: opened once with the overdue mark, claimed by one
//! caller at a time, taken over when a lease runs out, recorded only by
//! their current claimant.

use std::time::Duration;

use serde_json::json;
use sluice_ledger::{EscalationOutcome, EscalationState, LedgerClient, NewReviewItem, ReviewKind};
use sluice_testkit::TestDb;
use sluice_testkit::eventually::{check, eventually};
use tonic::Code;

use crate::code;
use crate::ops::{REVIEWER, execution_in_review, secured};

const LEASE: Duration = Duration::from_secs(60);

/// Opens a review item that was due a minute ago.
async fn overdue_item(service: &LedgerClient) -> anyhow::Result<i64> {
    let execution = execution_in_review(service, false).await?;
    let created = service
        .create_review_item(&NewReviewItem {
            execution_id: execution,
            generation: "0".into(),
            kind: ReviewKind::Review,
            handoff: json!({"wanted": "a table"}),
            sla_due_at: Some(chrono::Utc::now() - chrono::Duration::minutes(1)),
        })
        .await?;
    Ok(created.item.id)
}

fn outcome(id: i64, claimant: &str, delivered: bool) -> EscalationOutcome {
    EscalationOutcome {
        review_item_id: id,
        claimant: claimant.into(),
        delivered,
        attempts: 1,
        error: (!delivered).then(|| "HTTP 500".to_owned()),
    }
}

#[tokio::test]
async fn an_escalation_is_opened_once_and_claimed_by_one_caller() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = secured(&db).await?;
    let service = &ledger.client;
    let id = overdue_item(service).await?;
    let payload = json!({"review_item": id, "owner": "front-of-house"});
    assert!(
        service
            .mark_review_overdue_announced(id, Some(&payload))
            .await?
    );
    // A second replica's mark: no second escalation, the first payload kept.
    let other = json!({"review_item": id, "owner": "someone-else"});
    assert!(
        !service
            .mark_review_overdue_announced(id, Some(&other))
            .await?
    );
    assert!(service.overdue_reviews(10).await?.unannounced.is_empty());

    let (a, b) = tokio::join!(
        service.claim_escalations("replica-a", LEASE, 10),
        service.claim_escalations("replica-b", LEASE, 10),
    );
    let (a, b) = (a?, b?);
    assert_eq!(a.len() + b.len(), 1, "one claim wins: {a:?} {b:?}");
    let (winner, claimed) = if a.is_empty() {
        ("replica-b", &b[0])
    } else {
        ("replica-a", &a[0])
    };
    assert_eq!(claimed.review_item_id, id);
    assert_eq!(claimed.workflow, "reservation");
    assert_eq!(claimed.payload, payload);
    assert!(
        service
            .claim_escalations("replica-c", LEASE, 10)
            .await?
            .is_empty()
    );

    // Only the claimant records, once.
    let loser = if winner == "replica-a" {
        "replica-b"
    } else {
        "replica-a"
    };
    assert!(!service.record_escalation(&outcome(id, loser, true)).await?);
    assert!(
        service
            .record_escalation(&outcome(id, winner, true))
            .await?
    );
    assert!(
        !service
            .record_escalation(&outcome(id, winner, false))
            .await?
    );
    assert!(
        service
            .claim_escalations("replica-c", LEASE, 10)
            .await?
            .is_empty()
    );

    let reviewer = ledger.client(Some(REVIEWER))?;
    let detail = reviewer.review_item_detail(id).await?;
    let status = detail.escalation.expect("an escalation");
    assert_eq!(status.state, EscalationState::Delivered);
    assert_eq!(status.attempts, 1);
    assert!(status.finished_at.is_some());
    Ok(())
}

#[tokio::test]
async fn a_lapsed_claim_is_taken_over_and_a_failure_is_kept() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = secured(&db).await?;
    let service = &ledger.client;
    let id = overdue_item(service).await?;
    // Without a payload (no webhook declared) there is nothing to deliver.
    let plain = overdue_item(service).await?;
    assert!(service.mark_review_overdue_announced(plain, None).await?);
    service
        .mark_review_overdue_announced(id, Some(&json!({"review_item": id})))
        .await?;

    let short = Duration::from_millis(200);
    let first = service.claim_escalations("crashed", short, 10).await?;
    assert_eq!(first.len(), 1);
    let taken = eventually("the lease runs out", Duration::from_secs(5), || async {
        let taken = service.claim_escalations("survivor", LEASE, 10).await?;
        check(!taken.is_empty(), || "still held".to_owned())?;
        Ok(taken)
    })
    .await?;
    assert_eq!(taken[0].review_item_id, id);
    // The crashed claimant's late record no longer counts.
    assert!(
        !service
            .record_escalation(&outcome(id, "crashed", true))
            .await?
    );
    let mut failed = outcome(id, "survivor", false);
    failed.attempts = 5;
    assert!(service.record_escalation(&failed).await?);

    let reviewer = ledger.client(Some(REVIEWER))?;
    let status = reviewer
        .review_item_detail(id)
        .await?
        .escalation
        .expect("escalation");
    assert_eq!(status.state, EscalationState::Failed);
    assert_eq!(status.attempts, 5);
    assert_eq!(status.last_error.as_deref(), Some("HTTP 500"));
    assert!(
        reviewer
            .review_item_detail(plain)
            .await?
            .escalation
            .is_none()
    );
    // Failed for good: never claimed again.
    assert!(
        service
            .claim_escalations("survivor", short, 10)
            .await?
            .is_empty()
    );

    // Reviewers neither claim nor record.
    let err = reviewer.claim_escalations("alice", LEASE, 1).await.err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::PermissionDenied));
    Ok(())
}
