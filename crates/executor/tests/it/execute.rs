//! The happy path, a redelivery prevented by the ledger, and the probe.

use std::time::Duration;

use sluice_core::State;
use sluice_core::workflow::AmbiguityPolicy;
use sluice_ledger::BeginOutcome;
use sluice_testkit::eventually;

use crate::common::{Env, Setup, WAIT, contract, key_of};

#[tokio::test]
async fn books_once_and_a_redelivery_is_a_prevented_duplicate() -> anyhow::Result<()> {
    let env = Env::start(Setup::default()).await?;
    let envelope = env.submit(contract("wamid.happy")).await?;
    let journal = env.wait_state(&envelope, State::Verified).await?;
    assert!(journal.contains(&"EXECUTING".to_owned()), "{journal:?}");

    let (message, notified) = eventually("notify message", WAIT, || env.notified()).await?;
    assert_eq!(
        message
            .headers
            .get("Nats-Msg-Id")
            .map(|v| v.as_str().to_owned()),
        Some(format!("{}:notify:0", envelope.execution_id))
    );
    let record = &notified.actions[0];
    assert_eq!(record.key, key_of("wamid.happy"));
    assert!(!record.prevented_duplicate);
    let counts = env.booking_counts().await?;
    assert_eq!(counts["total"], 1);
    assert_eq!(
        record.external_id.as_deref(),
        counts["by_key"]
            .as_object()
            .and(record.external_id.as_deref()),
    );
    let key = env.key(&key_of("wamid.happy")).await?;
    assert_eq!(key.state, "completed");
    assert_eq!(
        key.result.as_ref().and_then(|r| r["external_id"].as_str()),
        record.external_id.as_deref()
    );

    // The same execute message again, on a new generation so JetStream does
    // not drop it: the ledger answers COMPLETED and nothing is booked.
    env.publish(&envelope, "1").await?;
    let again = env.notified_as(&envelope, "1").await?;
    assert!(again.actions[0].prevented_duplicate);
    assert_eq!(again.actions[0].external_id, record.external_id);
    assert_eq!(env.booking_counts().await?["total"], 1);
    let answer = env
        .begin_answer(&key_of("wamid.happy"), &contract("wamid.happy"), false)
        .await?;
    assert!(
        matches!(answer, BeginOutcome::Completed { .. }),
        "{answer:?}"
    );
    env.stop().await
}

#[tokio::test]
async fn an_ambiguous_answer_is_resolved_by_the_probe() -> anyhow::Result<()> {
    let env = Env::start(Setup {
        timeout_ms: 500,
        on_ambiguous: AmbiguityPolicy::Probe,
        ..Setup::default()
    })
    .await?;
    env.faults(serde_json::json!({"bookings": {"drop_response_next": 1}}))
        .await?;
    let envelope = env.submit(contract("wamid.probe")).await?;
    env.wait_state(&envelope, State::Verified).await?;
    let (_, notified) = eventually("notify message", WAIT, || env.notified()).await?;
    let counts = env.booking_counts().await?;
    assert_eq!(counts["total"], 1, "{counts}");
    assert!(notified.actions[0].external_id.is_some());
    assert_eq!(env.key(&key_of("wamid.probe")).await?.state, "completed");
    env.stop().await
}

/// A hand-off that arrives before the gate's `AUTO_ACTION_PENDING` is
/// visible is retried, not taken for a stale delivery and dropped (the
/// reliability harness lost executions that way).
#[tokio::test]
async fn an_early_delivery_is_retried_until_the_gate_move_is_visible() -> anyhow::Result<()> {
    let env = Env::start(Setup::default()).await?;
    let envelope = env
        .submit_at(contract("wamid.early"), State::GateDecided)
        .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (state, _) = env.state(&envelope).await?;
    assert_eq!(
        state, "GATE_DECIDED",
        "nothing moves before the gate's move"
    );
    env.ledger
        .client
        .record_transition(&sluice_ledger::Transition {
            execution_id: envelope.execution_id,
            from: Some(State::GateDecided),
            to: State::AutoActionPending,
            stage: "gate".into(),
            generation: "0".into(),
            detail: None,
            exception_reason: None,
            final_outcome: None,
            origin: Default::default(),
        })
        .await?;
    env.wait_state(&envelope, State::Verified).await?;
    assert_eq!(env.booking_counts().await?["total"], 1);
    env.stop().await
}

#[tokio::test]
async fn a_duplicate_behind_a_live_holder_finishes_soon_after_it() -> anyhow::Result<()> {
    // A one-minute lease and a target that takes 1.5 s: the duplicate finds
    // the key held, and must not sit out the lease before it looks again
    // (the wait below gives up long before the lease would end).
    let env = Env::start(Setup {
        timeout_ms: 5_000,
        lease_ms: 60_000,
        ..Setup::default()
    })
    .await?;
    env.faults(serde_json::json!({"bookings": {"latency_ms": 1_500}}))
        .await?;
    let envelope = env.submit(contract("wamid.held")).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    env.publish(&envelope, "1").await?;
    // Both deliveries are done (acked) long before the lease would end.
    // Which of them hands over to the notifier depends on timing: a
    // duplicate that looks again while the holder is still verifying
    // leaves the hand-over to it; one that looks after answers with the
    // stored result under its own generation.
    env.wait_state(&envelope, State::Verified).await?;
    eventually("both deliveries acked", WAIT, || async {
        let consumer = env.execute_consumer_info().await?;
        eventually::check(
            consumer.num_pending == 0 && consumer.num_ack_pending == 0,
            || {
                format!(
                    "{} pending, {} unacked",
                    consumer.num_pending, consumer.num_ack_pending
                )
            },
        )
    })
    .await?;
    let (message, handed) = env.notified().await?;
    let id = message
        .headers
        .get("Nats-Msg-Id")
        .map(|v| v.as_str().to_owned());
    let generation = id.as_deref().and_then(|id| id.rsplit(':').next());
    assert!(matches!(generation, Some("0" | "1")), "{id:?}");
    if generation == Some("1") {
        assert!(handed.actions[0].prevented_duplicate, "{handed:?}");
    }
    assert_eq!(env.booking_counts().await?["total"], 1);
    env.stop().await
}
