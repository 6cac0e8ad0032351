//! Review items: idempotent creation, decisions that move the execution in
//! the same transaction, and the queue's filters.

use std::time::Duration;

use serde_json::json;
use sluice_core::ExecutionId;
use sluice_ledger::{
    CreatedReviewItem, Decision, LedgerClient, NewReviewItem, ReviewDecision, ReviewFilter,
    ReviewKind, ReviewStatus,
};
use sluice_testkit::TestDb;
use tonic::Code;

use crate::code;
use crate::ops::{REVIEWER, SRE, execution_in_review, secured};

fn item(id: ExecutionId, kind: ReviewKind) -> NewReviewItem {
    NewReviewItem {
        execution_id: id,
        generation: "0".into(),
        kind,
        handoff: json!({"wanted": "table for 4", "missing": "approve party size"}),
        sla_due_at: None,
    }
}

fn decide(id: i64, decision: ReviewDecision) -> Decision {
    Decision {
        id,
        decision,
        reason: "checked with the restaurant".into(),
        corrections: None,
    }
}

async fn open(service: &LedgerClient, needs_review: bool) -> anyhow::Result<CreatedReviewItem> {
    let execution = execution_in_review(service, needs_review).await?;
    let kind = if needs_review {
        ReviewKind::NeedsReview
    } else {
        ReviewKind::Review
    };
    Ok(service.create_review_item(&item(execution, kind)).await?)
}

#[tokio::test]
async fn review_items_are_created_once() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = secured(&db).await?;
    let first = open(&ledger.client, false).await?;
    assert!(first.created);
    assert_eq!(first.item.status, ReviewStatus::Open);
    assert_eq!(first.item.workflow, "reservation");
    let execution = ExecutionId::from_uuid(first.item.execution_id);
    let again = ledger
        .client
        .create_review_item(&item(execution, ReviewKind::Review))
        .await?;
    assert!(!again.created);
    assert_eq!(again.item, first.item);

    let nobody = ExecutionId::derive("x", "y", "z");
    let err = ledger
        .client
        .create_review_item(&item(nobody, ReviewKind::Review))
        .await
        .err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::NotFound));
    Ok(())
}

#[tokio::test]
async fn approval_with_corrections_is_journalled_once() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = secured(&db).await?;
    let created = open(&ledger.client, false).await?;
    let reviewer = ledger.client(Some(REVIEWER))?;
    let approve = Decision {
        corrections: Some(json!({"party_size": 4})),
        ..decide(created.item.id, ReviewDecision::Approve)
    };
    let decided = reviewer.decide_review(&approve).await?;
    assert_eq!(decided.state, sluice_core::State::HumanApproved);
    assert_eq!(decided.item.status, ReviewStatus::Approved);
    assert!(decided.item.manually_corrected);
    assert_eq!(decided.item.decided_by.as_deref(), Some("alice"));
    assert_eq!(decided.item.corrections, Some(json!({"party_size": 4})));
    assert_eq!(decided.item.handoff["wanted"], "table for 4");

    let execution = ExecutionId::from_uuid(created.item.execution_id);
    let (exec, journal) = reviewer.get_execution(execution).await?;
    assert_eq!(exec.state, "HUMAN_APPROVED");
    let last = journal
        .last()
        .ok_or_else(|| anyhow::anyhow!("no journal"))?;
    assert_eq!(
        (last.from_state.as_deref(), last.to_state.as_str()),
        (Some("HUMAN_REVIEW_PENDING"), "HUMAN_APPROVED")
    );
    assert_eq!(
        (last.actor.as_str(), last.stage.as_str()),
        ("alice", "review")
    );
    assert_eq!(last.generation, decided.item.resume_generation());
    assert_eq!(
        last.detail.as_ref().map(|d| &d["corrected_fields"]),
        Some(&json!(["party_size"]))
    );

    // Decided once: a second decision, of any kind, is refused.
    let again = reviewer
        .decide_review(&decide(created.item.id, ReviewDecision::Reject))
        .await;
    assert_eq!(
        again.err().as_ref().and_then(code),
        Some(Code::FailedPrecondition)
    );
    let (_, audit) = reviewer.get_review_item(created.item.id).await?;
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].actor.as_str(), audit[0].role.as_str()),
        ("alice", "reviewer")
    );
    assert_eq!(audit[0].result, "HUMAN_APPROVED");
    Ok(())
}

#[tokio::test]
async fn reject_closes_and_escalate_escalates() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = secured(&db).await?;
    let reviewer = ledger.client(Some(REVIEWER))?;
    for (needs_review, decision, end) in [
        (false, ReviewDecision::Reject, "CLOSED"),
        (true, ReviewDecision::Reject, "CLOSED"),
        (false, ReviewDecision::Escalate, "ESCALATED"),
        (true, ReviewDecision::Escalate, "ESCALATED"),
    ] {
        let created = open(&ledger.client, needs_review).await?;
        let decided = reviewer
            .decide_review(&decide(created.item.id, decision))
            .await?;
        assert_eq!(decided.state.as_str(), end);
        assert!(!decided.item.manually_corrected);
        let execution = ExecutionId::from_uuid(created.item.execution_id);
        let (exec, journal) = reviewer.get_execution(execution).await?;
        assert_eq!(exec.state, end);
        let tail: Vec<_> = journal
            .iter()
            .rev()
            .take(2)
            .map(|e| e.to_state.as_str())
            .collect();
        assert_eq!(tail[0], end);
        assert!(tail[1].starts_with("HUMAN_"), "{tail:?}");
    }
    Ok(())
}

#[tokio::test]
async fn decisions_need_a_reason_and_a_waiting_execution() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = secured(&db).await?;
    let reviewer = ledger.client(Some(REVIEWER))?;
    let created = open(&ledger.client, false).await?;
    let blank = Decision {
        reason: String::new(),
        ..decide(created.item.id, ReviewDecision::Approve)
    };
    let err = reviewer.decide_review(&blank).await.err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::InvalidArgument));
    let corrected_reject = Decision {
        corrections: Some(json!({"party_size": 2})),
        ..decide(created.item.id, ReviewDecision::Reject)
    };
    let err = reviewer.decide_review(&corrected_reject).await.err();
    assert_eq!(err.as_ref().and_then(code), Some(Code::InvalidArgument));
    let missing = reviewer
        .decide_review(&decide(9_999, ReviewDecision::Approve))
        .await;
    assert_eq!(missing.err().as_ref().and_then(code), Some(Code::NotFound));
    // Nothing was decided by the refused calls.
    let (item, audit) = reviewer.get_review_item(created.item.id).await?;
    assert_eq!((item.status, audit.len()), (ReviewStatus::Open, 0));
    Ok(())
}

#[tokio::test]
async fn the_queue_is_filtered() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = secured(&db).await?;
    let sre = ledger.client(Some(SRE))?;
    let reviewer = ledger.client(Some(REVIEWER))?;
    let a = open(&ledger.client, false).await?;
    open(&ledger.client, true).await?;
    reviewer
        .decide_review(&decide(a.item.id, ReviewDecision::Reject))
        .await?;

    let list = |filter: ReviewFilter| {
        let sre = sre.clone();
        async move { anyhow::Ok(sre.list_review_items(&filter).await?.items) }
    };
    assert_eq!(list(ReviewFilter::default()).await?.len(), 2);
    let open_items = list(ReviewFilter {
        status: Some(ReviewStatus::Open),
        ..ReviewFilter::default()
    })
    .await?;
    assert_eq!(open_items.len(), 1);
    assert_eq!(open_items[0].kind, ReviewKind::NeedsReview);
    let other = ReviewFilter {
        workflow: Some("refund".into()),
        ..ReviewFilter::default()
    };
    assert!(list(other).await?.is_empty());
    let old = ReviewFilter {
        older_than: Some(Duration::from_secs(3600)),
        ..ReviewFilter::default()
    };
    assert!(list(old).await?.is_empty());
    let overdue = ReviewFilter {
        overdue: true,
        ..ReviewFilter::default()
    };
    assert!(list(overdue).await?.is_empty());
    let paged = sre
        .list_review_items(&ReviewFilter {
            limit: 1,
            ..ReviewFilter::default()
        })
        .await?;
    assert_eq!(paged.items[0].id, a.item.id, "oldest first");
    assert!(!paged.next_page_token.is_empty());
    Ok(())
}
