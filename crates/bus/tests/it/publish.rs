//! (b) Duplicate `Nats-Msg-Id`s are dropped; the next generation goes through.

use bytes::Bytes;
use sluice_bus::trace::is_valid_traceparent;
use sluice_core::headers;
use sluice_core::subjects::StreamKind;

use crate::common::{self, Env, STAGE, WORKFLOW};

#[tokio::test]
async fn duplicate_message_id_is_dropped_and_next_generation_goes_through() -> anyhow::Result<()> {
    let env = Env::new(common::consumer_settings(2000, 5)).await?;
    let publisher = env.bus.publisher();
    let envelope = common::envelope(1);
    let payload = Bytes::from(envelope.encode()?);
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let gen0 = common::stage_headers(&envelope, "0").with_traceparent(Some(tp));

    let first = publisher.to_stage(&gen0, payload.clone()).await?;
    assert!(!first.duplicate);
    // A redelivered handler publishing the same hand-off again.
    let second = publisher.to_stage(&gen0, payload.clone()).await?;
    assert!(
        second.duplicate,
        "same Msg-Id inside the window must be dropped"
    );
    assert_eq!(second.sequence, first.sequence);
    assert_eq!(env.stream_messages(StreamKind::Pipeline).await?, 1);

    // A legitimate second pass (e.g. after approval) has a new generation.
    let gen1 = common::stage_headers(&envelope, "1");
    let third = publisher.to_stage(&gen1, payload.clone()).await?;
    assert!(!third.duplicate);
    assert_eq!(env.stream_messages(StreamKind::Pipeline).await?, 2);

    let stored = env.stored(StreamKind::Pipeline).await?;
    let get = |i: usize, k: &str| {
        stored[i]
            .headers
            .get(k)
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default()
    };
    let exec = envelope.execution_id.to_string();
    assert_eq!(
        stored[0].subject.as_str(),
        env.nats.subjects.stage(STAGE, WORKFLOW)?
    );
    assert_eq!(get(0, headers::MSG_ID), format!("{exec}:gate:0"));
    assert_eq!(get(1, headers::MSG_ID), format!("{exec}:gate:1"));
    assert_eq!(get(0, headers::EXECUTION_ID), exec);
    assert_eq!(
        get(0, headers::CORRELATION_ID),
        envelope.correlation_id.as_str()
    );
    assert_eq!(get(0, headers::WORKFLOW), WORKFLOW);
    assert_eq!(get(0, headers::STAGE), "gate");
    assert_eq!(get(1, headers::GENERATION), "1");
    assert_eq!(get(0, headers::ENVELOPE_VERSION), "1");
    // Passed through when given, generated (and valid) when not.
    assert_eq!(get(0, headers::TRACEPARENT), tp);
    assert!(is_valid_traceparent(&get(1, headers::TRACEPARENT)));
    assert_eq!(stored[0].payload, payload);

    env.nats.cleanup().await
}
