//! Outcome verification: each booking is read back by its id; one the
//! target silently altered stops for review with the difference, is never
//! confirmed and never booked twice; a target that cannot be read is asked
//! again without a second booking.

use std::time::Duration;

use serde_json::json;
use sluice_core::State;
use sluice_ledger::{ReviewFilter, ReviewKind};
use sluice_testkit::eventually;

use crate::common::{Env, Setup, WAIT, contract};

#[tokio::test]
async fn a_booking_that_reads_back_as_asked_is_verified_then_notified() -> anyhow::Result<()> {
    let env = Env::start(Setup::default()).await?;
    let envelope = env.submit(contract("wamid.verified")).await?;
    let journal = env.wait_state(&envelope, State::Verified).await?;
    let at = |s: &str| journal.iter().position(|j| j == s);
    assert!(at("ACTION_COMPLETED") < at("VERIFIED"), "{journal:?}");
    let (_, notified) = eventually("notify message", WAIT, || env.notified()).await?;
    assert_eq!(notified.execution_id, envelope.execution_id);
    assert_eq!(env.booking_counts().await?["total"], 1);
    env.stop().await
}

#[tokio::test]
async fn a_booking_the_target_silently_altered_lands_in_review_with_the_difference()
-> anyhow::Result<()> {
    let env = Env::start(Setup::default()).await?;
    env.faults(json!({"bookings": {"alter_next": 1}})).await?;
    let envelope = env.submit(contract("wamid.altered")).await?;
    let journal = env.wait_state(&envelope, State::NeedsReview).await?;
    assert!(
        journal.contains(&"VERIFICATION_FAILED".to_owned()),
        "{journal:?}"
    );
    assert!(!journal.contains(&"VERIFIED".to_owned()), "{journal:?}");

    let event = env.announced(State::NeedsReview).await?;
    let difference = &event["detail"]["differences"][0];
    assert_eq!(
        difference["fields"]["party_size"],
        json!({"asked": 4, "found": 5})
    );
    assert_eq!(
        difference["fields"].as_object().map(|f| f.len()),
        Some(1),
        "{difference}"
    );
    let items = env
        .ledger
        .client
        .list_review_items(&ReviewFilter::default())
        .await?
        .items;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].kind, ReviewKind::NeedsReview);
    let why = items[0].handoff["why_stopped"].as_str().unwrap_or_default();
    assert!(why.contains("party_size asked 4, found 5"), "{why}");

    // What the workflow's breaker reads: one effect completed, one failed.
    let stats = env.ledger.client.workflow_stats("reservation", 300).await?;
    assert_eq!(
        (stats.effects_completed, stats.effects_failed),
        (1, 1),
        "{stats:?}"
    );

    // Kept, not repeated, not confirmed: one booking, no notify hand-off,
    // and a redelivery changes nothing.
    assert_eq!(env.booking_counts().await?["total"], 1);
    assert!(env.notified().await.is_err(), "the guest must not be told");
    env.publish(&envelope, "1").await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(env.state(&envelope).await?.0, "NEEDS_REVIEW");
    assert_eq!(env.booking_counts().await?["total"], 1);
    env.stop().await
}

#[tokio::test]
async fn a_target_that_cannot_be_read_back_is_asked_again_without_a_second_booking()
-> anyhow::Result<()> {
    let env = Env::start(Setup {
        // Nothing listens there: every read back fails.
        verify_url: Some("http://127.0.0.1:9/bookings/{external_id}".into()),
        timeout_ms: 300,
        ..Setup::default()
    })
    .await?;
    let envelope = env.submit(contract("wamid.unreadable")).await?;
    env.wait_state(&envelope, State::ActionCompleted).await?;
    // Redelivered and checked again meanwhile: still not verified, never
    // confirmed, never rebooked.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (state, journal) = env.state(&envelope).await?;
    assert_eq!(state, "ACTION_COMPLETED", "{journal:?}");
    assert_eq!(env.booking_counts().await?["total"], 1);
    assert!(env.notified().await.is_err());
    env.stop().await
}
