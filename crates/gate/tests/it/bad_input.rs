//! Messages a stage cannot read: dead-lettered once with the reason, never
//! retried, never decided.

use std::time::Duration;

use async_nats::jetstream::message::StreamMessage;
use sluice_core::envelope::ENVELOPE_VERSION;
use sluice_core::subjects::StreamKind;
use sluice_core::{Stage, headers};
use sluice_testkit::eventually::{check, eventually};
use sluice_testkit::pipeline::stored;

use crate::common::{Env, happy};

const WORKFLOW: &str = "reservation";

async fn publish_raw(env: &Env, msg_id: &str, payload: Vec<u8>) {
    let mut h = async_nats::HeaderMap::new();
    h.insert(headers::MSG_ID, msg_id);
    publish_with(env, h, payload).await;
}

async fn publish_with(env: &Env, headers: async_nats::HeaderMap, payload: Vec<u8>) {
    let subject = env.nats.subjects.stage(Stage::Gate, WORKFLOW).unwrap();
    env.nats
        .jetstream
        .publish_with_headers(subject, headers, payload.into())
        .await
        .unwrap()
        .await
        .unwrap();
}

fn gate_dlq(env: &Env) -> String {
    env.nats
        .subjects
        .dead_letter(Stage::Gate, WORKFLOW)
        .unwrap()
}

/// Waits for `n` gate dead letters; returns them with their reasons.
async fn dead_letters(env: &Env, n: usize) -> (Vec<StreamMessage>, Vec<String>) {
    let dlq = gate_dlq(env);
    let letters = eventually(
        &format!("{n} dead letters"),
        Duration::from_secs(15),
        || async {
            let letters = stored(&env.nats, StreamKind::DeadLetter, &dlq).await?;
            check(letters.len() >= n, || {
                format!("{} dead letters", letters.len())
            })?;
            Ok(letters)
        },
    )
    .await
    .unwrap();
    let reasons = letters
        .iter()
        .map(|l| {
            l.headers
                .get(headers::dead_letter::REASON)
                .map(|v| v.as_str().to_owned())
                .unwrap_or_default()
        })
        .collect();
    (letters, reasons)
}

/// How many gate dead letters there are after a pause: each message was
/// dead-lettered once, never retried.
async fn dead_letters_later(env: &Env) -> usize {
    tokio::time::sleep(Duration::from_millis(500)).await;
    stored(&env.nats, StreamKind::DeadLetter, &gate_dlq(env))
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn an_unknown_envelope_version_and_garbage_are_dead_lettered_with_the_reason() {
    let env = Env::start().await;
    let mut future = happy();
    future.version = ENVELOPE_VERSION + 1;
    publish_raw(&env, "future-version", serde_json::to_vec(&future).unwrap()).await;
    publish_raw(&env, "garbage", b"\x00not an envelope".to_vec()).await;

    let (letters, reasons) = dead_letters(&env, 2).await;
    assert!(reasons[0].contains("not readable"), "{}", reasons[0]);
    assert!(
        reasons[1].contains("undecodable envelope"),
        "{}",
        reasons[1]
    );
    for letter in &letters {
        let class = letter
            .headers
            .get(headers::dead_letter::CLASS)
            .map(|v| v.as_str());
        assert_eq!(class, Some("permanent"));
    }
    // Dead-lettered once each: no retries, nothing decided, nothing handed on.
    assert_eq!(dead_letters_later(&env).await, 2);
    assert!(env.stage_messages(Stage::Execute).await.is_empty());
    env.stop().await;
}

#[tokio::test]
async fn a_stage_message_without_or_against_its_headers_is_dead_lettered() {
    let env = Env::start().await;
    // A well-formed envelope of a recorded execution, but published bare
    // (no Sluice-* headers), and once with another execution's id.
    let bare = happy();
    env.record_until_validated(&bare).await;
    publish_raw(&env, "bare", bare.encode().unwrap()).await;
    let mut forged =
        sluice_bus::StageHeaders::for_envelope(&bare, Stage::Gate, "1").to_header_map();
    forged.insert(
        headers::EXECUTION_ID,
        "00000000-0000-0000-0000-000000000000",
    );
    publish_with(&env, forged, bare.encode().unwrap()).await;

    let (_, reasons) = dead_letters(&env, 2).await;
    assert!(
        reasons[0].contains("without its Sluice-Execution-Id header"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].contains("Sluice-Execution-Id") && reasons[1].contains("disagrees"),
        "{reasons:?}"
    );
    // Acked once each, and the execution was not decided on.
    assert_eq!(dead_letters_later(&env).await, 2);
    let (state, _) = env.state(&bare).await;
    assert_eq!(state, "OUTPUT_VALIDATED");
    assert!(env.stage_messages(Stage::Execute).await.is_empty());
    env.stop().await;
}
