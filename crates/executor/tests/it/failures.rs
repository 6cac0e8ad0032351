//! Temporary, permanent and ambiguous answers from the target.

use serde_json::json;
use sluice_core::State;
use sluice_ledger::BeginOutcome;

use crate::common::{Env, Setup, contract, key_of};

#[tokio::test]
async fn two_503s_are_retried_into_one_booking() -> anyhow::Result<()> {
    let env = Env::start(Setup::default()).await?;
    env.faults(json!({"bookings": {"fail_next": 2}})).await?;
    let envelope = env.submit(contract("wamid.503")).await?;
    env.wait_state(&envelope, State::Verified).await?;
    assert_eq!(env.booking_counts().await?["total"], 1);
    assert_eq!(env.key(&key_of("wamid.503")).await?.state, "completed");
    env.stop().await
}

#[tokio::test]
async fn a_400_goes_to_review_without_retry() -> anyhow::Result<()> {
    let env = Env::start(Setup::default()).await?;
    let mut bad = contract("wamid.400");
    bad["party_size"] = json!(0);
    let envelope = env.submit(bad.clone()).await?;
    let journal = env.wait_state(&envelope, State::NeedsReview).await?;
    assert!(
        !journal.contains(&"FAILED_RETRYABLE".to_owned()),
        "{journal:?}"
    );
    let key = env.key(&key_of("wamid.400")).await?;
    assert_eq!(key.state, "failed_permanent");
    assert_eq!(key.attempts, 1);
    assert_eq!(env.booking_counts().await?["total"], 0);
    let answer = env.begin_answer(&key_of("wamid.400"), &bad, false).await?;
    assert!(
        matches!(answer, BeginOutcome::FailedPermanent { .. }),
        "{answer:?}"
    );
    env.stop().await
}

#[tokio::test]
async fn apply_then_drop_with_keys_ignored_goes_to_review() -> anyhow::Result<()> {
    let env = Env::start(Setup {
        timeout_ms: 500,
        ..Setup::default()
    })
    .await?;
    env.faults(json!({"bookings": {"drop_response_next": 1}}))
        .await?;
    let envelope = env.submit(contract("wamid.drop")).await?;
    let journal = env.wait_state(&envelope, State::NeedsReview).await?;
    assert!(
        journal.contains(&"EFFECT_UNKNOWN".to_owned()),
        "{journal:?}"
    );
    assert_eq!(env.booking_counts().await?["total"], 1);
    let key = env.key(&key_of("wamid.drop")).await?;
    assert_eq!(key.state, "in_progress");
    assert!(key.effect_attempted);
    let event = env.announced(State::NeedsReview).await?;
    assert_eq!(event["detail"]["what"], "ambiguous_answer");
    // A review item with the handoff and the envelope to resume from.
    let filter = sluice_ledger::ReviewFilter::default();
    let items = env.ledger.client.list_review_items(&filter).await?.items;
    assert_eq!(items.len(), 1, "{items:?}");
    let item = &items[0];
    assert_eq!(item.execution_id, *envelope.execution_id.as_uuid());
    assert_eq!(item.kind, sluice_ledger::ReviewKind::NeedsReview);
    let h = &item.handoff;
    assert_eq!(h["effect_unknown"], true);
    assert_eq!(h["stopped_at"]["what"], "ambiguous_answer");
    assert!(h["why_stopped"].is_string() && h["decision_needed"].is_string());
    assert_eq!(
        h["envelope"]["execution_id"],
        envelope.execution_id.to_string()
    );
    env.stop().await
}
