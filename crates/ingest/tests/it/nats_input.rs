//! Upstream events on `<prefix>.in.<source>.>`.

use std::time::Duration;

use async_nats::HeaderMap;
use sluice_core::subjects::StreamKind;
use sluice_core::{Envelope, ExecutionId, Stage, headers};
use sluice_testkit::{eventually, eventually::check};

use crate::common::{self, Env, SOURCE, WORKFLOW};

async fn publish(env: &Env, headers: HeaderMap, payload: String) -> anyhow::Result<()> {
    let subject = format!("{}.in.{SOURCE}.messages", env.nats.subjects.prefix());
    env.nats
        .jetstream
        .publish_with_headers(subject, headers, payload.into())
        .await?
        .await?;
    Ok(())
}

#[tokio::test]
async fn a_valid_nats_event_is_recorded_and_handed_to_interpret() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let mut h = HeaderMap::new();
    h.insert(headers::CORRELATION_ID, "corr-nats");
    publish(&env, h, common::payload("wamid.nats-1")).await?;

    let execution = ExecutionId::derive(SOURCE, "wamid.nats-1", WORKFLOW);
    let message = eventually("interpret message", Duration::from_secs(10), || async {
        env.interpret_message().await
    })
    .await?;
    assert_eq!(
        common::header(&message, headers::MSG_ID),
        Some(format!("{execution}:interpret:0"))
    );
    assert_eq!(
        common::header(&message, headers::CORRELATION_ID).as_deref(),
        Some("corr-nats")
    );
    assert_eq!(Envelope::decode(&message.payload)?.execution_id, execution);
    let (row, journal) = env.ledger.client.get_execution(execution).await?;
    assert_eq!(row.state, "VALIDATED");
    assert_eq!(journal[0].detail, Some(serde_json::json!({"via": "nats"})));
    env.finish().await
}

#[tokio::test]
async fn the_payload_id_field_wins_over_the_msg_id_header() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let mut h = HeaderMap::new();
    h.insert(headers::MSG_ID, "upstream-msg-7");
    publish(&env, h, common::payload("wamid.field-wins")).await?;
    let execution = ExecutionId::derive(SOURCE, "wamid.field-wins", WORKFLOW);
    eventually("recorded", Duration::from_secs(10), || async {
        Ok(env.ledger.client.get_execution(execution).await?)
    })
    .await?;
    env.finish().await
}

#[tokio::test]
async fn malformed_nats_input_is_dead_lettered_with_its_reason() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let cases = [
        ("not json".to_owned(), "not JSON"),
        (
            serde_json::json!({"from": "+31600000000", "text": "hi"}).to_string(),
            "no event id",
        ),
        (
            serde_json::json!({"id": "w1", "from": "nobody", "text": "hi"}).to_string(),
            "schema",
        ),
    ];
    let dlq = env.nats.subjects.dead_letter(Stage::Ingest, SOURCE)?;
    let stream = env
        .nats
        .jetstream
        .get_stream(env.nats.subjects.stream(StreamKind::DeadLetter))
        .await?;
    for (i, (payload, reason)) in cases.iter().enumerate() {
        publish(&env, HeaderMap::new(), payload.clone()).await?;
        let expected = u64::try_from(i + 1)?;
        eventually("dead letter", Duration::from_secs(10), || async {
            let count = env.stream_count(StreamKind::DeadLetter).await?;
            check(count == expected, || format!("{count} dead letters"))
        })
        .await?;
        let letter = stream.get_last_raw_message_by_subject(&dlq).await?;
        let got = common::header(&letter, headers::dead_letter::REASON).unwrap_or_default();
        assert!(got.contains(reason), "{got:?} should mention {reason:?}");
        assert_eq!(
            common::header(&letter, headers::dead_letter::CLASS).as_deref(),
            Some("permanent")
        );
        assert!(
            !got.contains("nobody"),
            "payload echoed in the reason: {got}"
        );
    }
    assert_eq!(env.stream_count(StreamKind::Pipeline).await?, 0);
    env.finish().await
}
