//! Confirmations and clarifications, sent once, retried alone.

use sluice_bus::StageHeaders;
use sluice_core::subjects::StreamKind;
use sluice_core::{Stage, State, headers};
use sluice_testkit::eventually;

use crate::common::{
    Env, MAX_DELIVER, TO_CLARIFICATION, TO_VERIFIED, WAIT, WORKFLOW, booked, clarification,
};
use crate::fake::Outbox;

fn states(journal: &[sluice_ledger::JournalEntry]) -> Vec<&str> {
    journal.iter().map(|e| e.to_state.as_str()).collect()
}

#[tokio::test]
async fn a_confirmation_is_sent_once_and_completes_the_execution() {
    let (outbox, addr) = Outbox::start(0).await;
    let env = Env::start(addr).await;
    let e = booked();
    env.record(&e, TO_VERIFIED).await;
    env.publish(&e).await;

    let journal = env.wait_for(&e, State::Completed).await;
    assert_eq!(
        &states(&journal)[8..],
        ["ACTION_COMPLETED", "VERIFIED", "NOTIFIED", "COMPLETED"]
    );
    // The key's completion carried the closing moves: one transaction, so
    // one clock reading for the key and both journal rows.
    let key = env.confirmation_key(&e).await;
    assert_eq!(key.state, "completed");
    let closing: Vec<_> = journal[journal.len() - 2..].iter().map(|j| j.at).collect();
    assert_eq!(closing, [key.updated_at, key.updated_at]);
    let sent = outbox.delivered();
    assert_eq!(sent.len(), 1);
    let (key, body) = &sent[0];
    assert_eq!(
        key.as_deref(),
        Some(format!("{}:notify:0", e.execution_id).as_str())
    );
    assert_eq!(body["to"], "+34600000000");
    assert_eq!(
        body["text"],
        "Your table for 4 on 2026-11-24 at 21:00 is booked."
    );
    assert_eq!(body["execution_id"], e.execution_id.to_string());
    let events = env.wait_events(State::Completed, 1).await;
    assert_eq!(events[0]["external_id"], "bk-42");
    env.stop().await;
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_alone_and_delivers_one_message() {
    let (outbox, addr) = Outbox::start(2).await;
    let env = Env::start(addr).await;
    let e = booked();
    env.record(&e, TO_VERIFIED).await;
    env.publish(&e).await;

    env.wait_for(&e, State::Completed).await;
    assert_eq!(outbox.attempts(), 3);
    assert_eq!(outbox.delivered().len(), 1);
    let execute = env.nats.subjects.stage(Stage::Execute, WORKFLOW).unwrap();
    assert!(
        env.messages(StreamKind::Pipeline, &execute)
            .await
            .is_empty()
    );
    env.wait_events(State::Completed, 1).await;
    env.stop().await;
}

#[tokio::test]
async fn an_endpoint_that_never_answers_ends_in_notify_failed() {
    let (outbox, addr) = Outbox::start(usize::MAX).await;
    let env = Env::start(addr).await;
    let e = booked();
    env.record(&e, TO_VERIFIED).await;
    env.publish(&e).await;

    let journal = env.wait_for(&e, State::NotifyFailed).await;
    assert_eq!(states(&journal).last(), Some(&"NOTIFY_FAILED"));
    assert_eq!(outbox.attempts(), MAX_DELIVER as usize);
    assert!(outbox.delivered().is_empty());
    let events = env.wait_events(State::NotifyFailed, 1).await;
    assert_eq!(events[0]["external_id"], "bk-42");
    let key = env.confirmation_key(&e).await;
    assert_eq!(key.state, "failed_permanent");
    env.stop().await;
}

#[tokio::test]
async fn a_redelivery_after_success_sends_nothing_more() {
    let (outbox, addr) = Outbox::start(0).await;
    let env = Env::start(addr).await;
    let e = booked();
    env.record(&e, TO_VERIFIED).await;
    env.publish(&e).await;
    env.wait_for(&e, State::Completed).await;

    // The same message again, past JetStream's dedupe, as a redelivery.
    let mut map = StageHeaders::for_envelope(&e, Stage::Notify, "0").to_header_map();
    map.insert(headers::MSG_ID, "redelivered-copy");
    let subject = env.nats.subjects.stage(Stage::Notify, WORKFLOW).unwrap();
    env.nats
        .jetstream
        .publish_with_headers(subject, map, e.encode().unwrap().into())
        .await
        .unwrap()
        .await
        .unwrap();
    env.drained().await;
    eventually("both deliveries handled", WAIT, || async {
        let s = env
            .nats
            .jetstream
            .get_stream(env.nats.subjects.stream(StreamKind::Pipeline))
            .await?;
        let consumer = env.nats.subjects.consumer(Stage::Notify, WORKFLOW)?;
        let info = s.consumer_info(&consumer).await?;
        eventually::check(info.ack_floor.stream_sequence >= 2, || "not yet".into())
    })
    .await
    .unwrap();
    assert_eq!(outbox.delivered().len(), 1);
    let (_, journal) = env.state(&e).await;
    assert_eq!(
        journal.iter().filter(|j| j.to_state == "COMPLETED").count(),
        1
    );
    env.stop().await;
}

#[tokio::test]
async fn a_clarification_asks_only_for_the_missing_field() {
    let (outbox, addr) = Outbox::start(0).await;
    let env = Env::start(addr).await;
    let e = clarification();
    env.record(&e, TO_CLARIFICATION).await;
    env.publish(&e).await;

    let key = format!("{}:notify:0", e.execution_id);
    eventually("clarification sent", WAIT, || async {
        let record = env.ledger.client.get_key(&key).await?;
        eventually::check(record.state == "completed", || record.state.clone())
    })
    .await
    .unwrap();
    let sent = outbox.delivered();
    assert_eq!(sent.len(), 1);
    let text = sent[0].1["text"].as_str().unwrap();
    assert_eq!(text, "How many people will be joining?");
    let (state, _) = env.state(&e).await;
    assert_eq!(state, "CLARIFICATION_REQUESTED");
    env.stop().await;
}
