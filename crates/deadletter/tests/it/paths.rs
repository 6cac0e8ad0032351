//! One entry and one event per dead-lettered message, whichever paths
//! (the bus's dead letter, a terminated or max-deliveries advisory, a late
//! second copy) report it.

use async_nats::HeaderMap;
use sluice_bus::DeliveryAdvisory;
use sluice_core::headers::{self, dead_letter as dl};
use sluice_core::subjects::StreamKind;
use sluice_core::{FailureClass, State};
use sluice_testkit::eventually::{self, check};

use crate::common::{DYING, Env, WAIT, WORKFLOW};

#[tokio::test]
async fn a_permanent_failure_is_one_entry_and_one_event() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let service = env.start_service().await?;
    let stage = env.dead_lettering_stage().await?;
    let (envelope, sequence) = env.publish(WORKFLOW, 0).await?;

    let entries = env.wait_entries(1).await?;
    let entry = &entries[0];
    assert_eq!(entry.reason, "no such table");
    assert_eq!(entry.failure_class, FailureClass::Permanent);
    assert_eq!(
        (entry.stage.as_str(), entry.workflow.as_str()),
        ("gate", WORKFLOW)
    );
    assert_eq!(entry.execution_id, Some(*envelope.execution_id.as_uuid()));
    assert_eq!(entry.correlation_id, envelope.correlation_id.as_str());
    assert_eq!(entry.stream, env.nats.subjects.stream(StreamKind::Pipeline));
    assert_eq!(entry.stream_sequence, sequence);
    assert_eq!(
        entry.subject,
        env.nats.subjects.stage(crate::common::STAGE, WORKFLOW)?
    );
    assert_eq!(entry.headers[headers::GENERATION], vec!["0"]);
    assert_eq!(entry.payload, envelope.encode()?.to_vec());
    env.wait_state(&envelope, State::DeadLettered).await?;

    // JetStream also reports the terminated message; that path must add
    // nothing once the service has read it.
    eventually::eventually("terminated advisory", WAIT, || async {
        let found = env
            .stored(StreamKind::Advisories)
            .await?
            .iter()
            .filter_map(|m| DeliveryAdvisory::parse(&m.payload).ok())
            .any(|a| a.kind == DeliveryAdvisory::TERMINATED && a.stream_seq == sequence);
        check(found, || "no terminated advisory yet".into())
    })
    .await?;
    env.service_drained().await?;
    assert_eq!(env.entries().await?.len(), 1);
    assert_eq!(env.stored(StreamKind::DeadLetter).await?.len(), 1);
    let events = env.events(WORKFLOW).await?;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].execution_id, envelope.execution_id);
    assert_eq!(events[0].detail["reason"], "no such table");

    stage.stop().await?;
    service.stop().await?;
    env.nats.cleanup().await
}

#[tokio::test]
async fn exhausted_deliveries_are_one_entry_through_the_advisory_path() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let service = env.start_service().await?;
    let dying = env.dying_stage().await?;
    let (envelope, sequence) = env.publish(DYING, 0).await?;

    let entries = env.wait_entries(1).await;
    dying.abort();
    let entries = entries?;
    let entry = &entries[0];
    assert_eq!(entry.failure_class, FailureClass::Temporary);
    assert!(entry.reason.contains("max deliveries"), "{}", entry.reason);
    assert_eq!(entry.attempts, 2);
    assert_eq!(entry.workflow, DYING);
    assert_eq!(entry.stream_sequence, sequence);
    assert_eq!(entry.execution_id, Some(*envelope.execution_id.as_uuid()));
    env.wait_state(&envelope, State::DeadLettered).await?;
    env.service_drained().await?;
    let events = env.events(DYING).await?;
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].outcome.contains("max deliveries"));

    service.stop().await?;
    env.nats.cleanup().await
}

#[tokio::test]
async fn a_second_copy_after_the_dedupe_window_is_still_one_entry() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let service = env.start_service().await?;
    let stage = env.dead_lettering_stage().await?;
    let (_envelope, _) = env.publish(WORKFLOW, 0).await?;
    env.wait_entries(1).await?;
    env.service_drained().await?;

    // The advisory path reporting the message after the dead-letter stream
    // forgot its id: a second copy lands in the stream. The ledger's index
    // (by original stream and sequence) keeps it one entry, one event.
    let copy = env.stored(StreamKind::DeadLetter).await?.remove(0);
    let mut headers = HeaderMap::new();
    for (name, values) in copy.headers.iter() {
        for value in values {
            headers.append(name.clone(), value.clone());
        }
    }
    headers.insert(headers::MSG_ID, "a-later-copy");
    env.nats
        .jetstream
        .publish_with_headers(copy.subject.to_string(), headers, copy.payload.clone())
        .await?
        .await?;
    assert_eq!(env.stored(StreamKind::DeadLetter).await?.len(), 2);
    env.service_drained().await?;
    let entries = env.entries().await?;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].dlq_sequence, copy.sequence);
    assert_eq!(
        copy.headers.get(dl::CLASS).map(|v| v.as_str()),
        Some("permanent")
    );
    assert_eq!(env.events(WORKFLOW).await?.len(), 1);

    stage.stop().await?;
    service.stop().await?;
    env.nats.cleanup().await
}

#[tokio::test]
async fn a_dead_letter_without_an_execution_is_indexed_but_not_announced() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let service = env.start_service().await?;

    // A dead letter with no execution id (undecodable input), written by
    // hand: no original subject either.
    let mut headers = HeaderMap::new();
    headers.insert(headers::MSG_ID, "dlq:SOMEWHERE:9");
    headers.insert(dl::STREAM, "SOMEWHERE");
    headers.insert(dl::SEQUENCE, "9");
    headers.insert(dl::CLASS, "permanent");
    headers.insert(dl::REASON, "not JSON");
    headers.insert(dl::DELIVERIES, "1");
    headers.insert("Sluice-Orig-Content-Type", "text/plain");
    let subject = env
        .nats
        .subjects
        .dead_letter(sluice_core::Stage::Ingest, "src")?;
    env.nats
        .jetstream
        .publish_with_headers(subject.clone(), headers, "{oops".into())
        .await?
        .await?;

    let entries = env.wait_entries(1).await?;
    let entry = &entries[0];
    assert_eq!(
        (entry.stream.as_str(), entry.stream_sequence),
        ("SOMEWHERE", 9)
    );
    assert_eq!(
        (entry.stage.as_str(), entry.workflow.as_str()),
        ("ingest", "src")
    );
    assert_eq!(entry.execution_id, None);
    // It does not say where it came from: its own subject is all there is.
    assert_eq!(entry.subject, subject);
    assert_eq!(entry.headers["Content-Type"], vec!["text/plain"]);
    assert_eq!(entry.payload, b"{oops".to_vec());
    env.service_drained().await?;
    assert!(env.stored(StreamKind::Events).await?.is_empty());

    service.stop().await?;
    env.nats.cleanup().await
}
