//! Per-RPC roles for dead letters and reviews: separation of duties, and the
//! identity the ledger sees.

use serde_json::json;
use sluice_ledger::{
    BeginReplay, DeadLetterFilter, Decision, LedgerClient, ReviewDecision, ReviewFilter, Role,
};
use sluice_testkit::TestDb;
use tonic::Code;

use crate::code;
use crate::ops::{ADMIN, REVIEWER, SRE, dead_letter, execution_in_review, secured};

fn replay(id: i64) -> BeginReplay {
    BeginReplay {
        id,
        reason: "fixed".into(),
        batch_id: "b".into(),
        max_replays: 0,
    }
}

fn approve(id: i64) -> Decision {
    Decision {
        id,
        decision: ReviewDecision::Approve,
        reason: "fine".into(),
        corrections: None,
    }
}

fn denied<T>(result: sluice_ledger::Result<T>) -> Option<Code> {
    result.err().as_ref().and_then(code)
}

async fn review_item(service: &LedgerClient) -> anyhow::Result<i64> {
    let execution = execution_in_review(service, false).await?;
    let new = sluice_ledger::NewReviewItem {
        execution_id: execution,
        generation: "0".into(),
        kind: sluice_ledger::ReviewKind::Review,
        handoff: json!({}),
        sla_due_at: None,
    };
    Ok(service.create_review_item(&new).await?.item.id)
}

#[tokio::test]
async fn separation_of_duties() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = secured(&db).await?;
    let service = &ledger.client;
    let reviewer = ledger.client(Some(REVIEWER))?;
    let sre = ledger.client(Some(SRE))?;
    let dl = service
        .record_dead_letter(&dead_letter(1))
        .await?
        .dead_letter
        .id;
    let item = review_item(service).await?;
    let denied_ = Some(Code::PermissionDenied);

    // A reviewer cannot touch dead letters.
    assert_eq!(denied(reviewer.begin_replay(&replay(dl)).await), denied_);
    assert_eq!(
        denied(reviewer.record_dead_letter(&dead_letter(2)).await),
        denied_
    );
    assert_eq!(
        denied(reviewer.discard_dead_letter(dl, "no").await),
        denied_
    );
    assert_eq!(denied(reviewer.get_dead_letter(dl).await), denied_);
    // Neither a service nor an SRE can decide a review.
    assert_eq!(denied(service.decide_review(&approve(item)).await), denied_);
    assert_eq!(denied(sre.decide_review(&approve(item)).await), denied_);
    // Services cannot replay, SREs cannot claim keys or record dead letters.
    assert_eq!(denied(service.begin_replay(&replay(dl)).await), denied_);
    assert_eq!(
        denied(sre.record_dead_letter(&dead_letter(3)).await),
        denied_
    );
    assert_eq!(denied(sre.begin(&crate::claim("k", "o")).await), denied_);
    // A service cannot start a revert; a reviewer gets past the role check
    // (and is refused only because the execution is not COMPLETED).
    let pending = execution_in_review(service, false).await?;
    assert_eq!(
        denied(service.revert_execution(pending, "no").await),
        denied_
    );
    assert_eq!(
        denied(reviewer.revert_execution(pending, "not yet").await),
        Some(Code::FailedPrecondition)
    );

    // What each may do.
    sre.list_review_items(&ReviewFilter::default()).await?;
    sre.get_review_item(item).await?;
    reviewer.list_executions(&Default::default()).await?;
    sre.list_dead_letters(&DeadLetterFilter::default()).await?;
    sre.begin_replay(&replay(dl)).await?;
    reviewer.decide_review(&approve(item)).await?;
    let admin = ledger.client(Some(ADMIN))?;
    admin.discard_dead_letter(dl, "admin may").await?;
    Ok(())
}

#[tokio::test]
async fn unauthenticated_calls_are_refused_and_identities_known() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ledger = secured(&db).await?;
    let anonymous = ledger.client(None)?;
    let unauthenticated = Some(Code::Unauthenticated);
    let list = anonymous
        .list_dead_letters(&DeadLetterFilter::default())
        .await;
    assert_eq!(denied(list), unauthenticated);
    assert_eq!(
        denied(anonymous.decide_review(&approve(1)).await),
        unauthenticated
    );
    assert_eq!(denied(anonymous.who_am_i().await), unauthenticated);

    let me = ledger.client(Some(REVIEWER))?.who_am_i().await?;
    assert_eq!((me.name.as_str(), me.role), ("alice", Role::Reviewer));
    let me = ledger.client.who_am_i().await?;
    assert_eq!((me.name.as_str(), me.role), ("executor", Role::Service));
    Ok(())
}
