//! A crash after the effect and before `Complete`: the lease expires, and the
//! ledger (not the target) decides what happens next.

use sluice_core::State;
use sluice_executor::Failpoint;
use sluice_ledger::BeginOutcome;

use crate::common::{Env, Setup, contract, key_of};

#[tokio::test]
async fn crash_with_keys_ignored_goes_to_review_with_one_booking() -> anyhow::Result<()> {
    let env = Env::start(Setup {
        failpoint: Some(Failpoint::StopAfterEffect),
        lease_ms: 1_000,
        ..Setup::default()
    })
    .await?;
    let envelope = env.submit(contract("wamid.crash1")).await?;
    let journal = env.wait_state(&envelope, State::NeedsReview).await?;
    assert!(
        journal.contains(&"EFFECT_UNKNOWN".to_owned()),
        "{journal:?}"
    );
    assert_eq!(env.booking_counts().await?["total"], 1, "no second booking");

    let key = env.key(&key_of("wamid.crash1")).await?;
    assert_eq!(key.state, "in_progress");
    assert!(key.effect_attempted);
    let answer = env
        .begin_answer(&key_of("wamid.crash1"), &contract("wamid.crash1"), false)
        .await?;
    assert!(matches!(answer, BeginOutcome::Unknown { .. }), "{answer:?}");
    let event = env.announced(State::NeedsReview).await?;
    assert_eq!(event["detail"]["what"], "ledger_unknown");
    assert_eq!(event["detail"]["key"], key_of("wamid.crash1"));
    env.stop().await
}

#[tokio::test]
async fn crash_with_keys_honoured_retries_with_the_same_key() -> anyhow::Result<()> {
    let env = Env::start(Setup {
        honour: true,
        failpoint: Some(Failpoint::StopAfterEffect),
        lease_ms: 1_000,
        ..Setup::default()
    })
    .await?;
    let envelope = env.submit(contract("wamid.crash2")).await?;
    let journal = env.wait_state(&envelope, State::Verified).await?;
    assert!(
        !journal.contains(&"EFFECT_UNKNOWN".to_owned()),
        "{journal:?}"
    );
    let counts = env.booking_counts().await?;
    assert_eq!(counts["total"], 1, "{counts}");
    let key = env.key(&key_of("wamid.crash2")).await?;
    assert_eq!(key.state, "completed");
    assert_eq!(key.attempts, 2, "taken over once with the same key");
    env.stop().await
}
