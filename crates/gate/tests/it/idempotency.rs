//! A redelivered gate message yields one decision and one hand-off.

use sluice_bus::StageHeaders;
use sluice_core::subjects::StreamKind;
use sluice_core::{Stage, State, headers};
use sluice_testkit::eventually;

use crate::common::{Env, WAIT, WORKFLOW, eventually_len, happy};

#[tokio::test]
async fn a_repeated_delivery_decides_and_publishes_once() {
    let env = Env::start().await;
    let e = happy();
    env.submit(&e).await;
    env.wait_for(&e, State::AutoActionPending).await;
    eventually_len(&env, Stage::Execute, 1).await;

    // The same message again, as a redelivery would bring it (same
    // generation), but past JetStream's own dedupe so the gate must cope.
    let mut map = StageHeaders::for_envelope(&e, Stage::Gate, "0").to_header_map();
    map.insert(headers::MSG_ID, "redelivered-copy");
    let subject = env.nats.subjects.stage(Stage::Gate, WORKFLOW).unwrap();
    env.nats
        .jetstream
        .publish_with_headers(subject, map, e.encode().unwrap().into())
        .await
        .unwrap()
        .await
        .unwrap();
    let consumer = env.nats.subjects.consumer(Stage::Gate, WORKFLOW).unwrap();
    let stream = env.nats.subjects.stream(StreamKind::Pipeline);
    eventually("gate consumer drained", WAIT, || async {
        let s = env.nats.jetstream.get_stream(&stream).await?;
        let info = s.consumer_info(&consumer).await?;
        eventually::check(
            info.num_pending == 0
                && info.num_ack_pending == 0
                && info.delivered.stream_sequence >= 2,
            || {
                format!(
                    "pending {} unacked {}",
                    info.num_pending, info.num_ack_pending
                )
            },
        )
    })
    .await
    .unwrap();

    let (state, journal) = env.state(&e).await;
    assert_eq!(state, "AUTO_ACTION_PENDING");
    let decided = journal
        .iter()
        .filter(|j| j.to_state == "GATE_DECIDED")
        .count();
    assert_eq!(decided, 1);
    // The decision and its route were one write: one ledger round trip,
    // journalled at the same instant with consecutive numbers.
    let written: Vec<_> = journal
        .iter()
        .filter(|j| ["GATE_DECIDED", "AUTO_ACTION_PENDING"].contains(&j.to_state.as_str()))
        .map(|j| (j.seq, j.at))
        .collect();
    assert_eq!(written.len(), 2, "{journal:?}");
    assert_eq!(written[1].0, written[0].0 + 1);
    assert_eq!(written[1].1, written[0].1);
    assert_eq!(env.stage_messages(Stage::Execute).await.len(), 1);
    env.stop().await;
}
