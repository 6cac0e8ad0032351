//! Kill switches read live from the KV bucket.

use std::time::Duration;

use sluice_core::subjects::StreamKind;
use sluice_core::{Stage, State};
use sluice_testkit::eventually;

use crate::common::{Env, WAIT, WORKFLOW, edited_workflows, happy};

async fn switch_off(env: &Env, key: &str) {
    let bucket = env.nats.subjects.switches_bucket();
    let kv = env.nats.jetstream.get_key_value(bucket).await.unwrap();
    kv.put(key, "off".into()).await.unwrap();
}

#[tokio::test]
async fn switched_off_with_policy_review_sends_items_to_review() {
    let dir = edited_workflows(|t| {
        t.replace(
            r#"when_switched_off = "pause""#,
            r#"when_switched_off = "review""#,
        )
    });
    let env = Env::start_with(dir).await;
    switch_off(&env, "reservation").await;
    let e = happy();
    env.submit(&e).await;
    let journal = env.wait_for(&e, State::HumanReviewPending).await;
    let decided = journal
        .iter()
        .find(|j| j.to_state == "GATE_DECIDED")
        .unwrap();
    let rules = decided.detail.as_ref().unwrap()["rules"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        rules
            .iter()
            .any(|r| r["rule"] == "kill_switch" && r["passed"] == false)
    );
    assert!(env.stage_messages(Stage::Execute).await.is_empty());
    env.stop().await;
}

#[tokio::test]
async fn switched_off_with_policy_pause_pauses_the_consumer_and_decides_nothing() {
    let env = Env::start().await;
    switch_off(&env, "reservation.create_booking").await;
    let e = happy();
    env.submit(&e).await;
    let consumer = env.nats.subjects.consumer(Stage::Gate, WORKFLOW).unwrap();
    let stream = env.nats.subjects.stream(StreamKind::Pipeline);
    eventually("gate consumer paused", WAIT, || async {
        let s = env.nats.jetstream.get_stream(&stream).await?;
        let info = s.consumer_info(&consumer).await?;
        eventually::check(info.paused, || "not paused".into())
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (state, _) = env.state(&e).await;
    assert_eq!(state, "OUTPUT_VALIDATED");
    assert!(env.stage_messages(Stage::Execute).await.is_empty());
    env.stop().await;
}
