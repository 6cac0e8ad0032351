//! (d) Dead letters: exactly one entry per original message, whichever path
//! (handler verdict, final delivery, advisory) reports it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::message::StreamMessage;
use futures::StreamExt as _;
use sluice_bus::{Delivery, DeliveryAdvisory, HandlerError, Outcome, Published};
use sluice_core::headers::{self, dead_letter as dl};
use sluice_core::subjects::StreamKind;
use sluice_core::{FailureClass, Stage};
use sluice_testkit::eventually::{self, check};

use crate::common::{self, Env, Recorder, STAGE, WORKFLOW};

fn header(message: &StreamMessage, name: &str) -> String {
    message
        .headers
        .get(name)
        .map(|v| v.as_str().to_owned())
        .unwrap_or_default()
}

/// Waits for exactly one dead letter and returns it.
async fn the_dead_letter(env: &Env) -> anyhow::Result<StreamMessage> {
    eventually::eventually("one dead letter", Duration::from_secs(10), || async {
        let n = env.stream_messages(StreamKind::DeadLetter).await?;
        check(n >= 1, || format!("{n} dead letters"))
    })
    .await?;
    let mut all = env.stored(StreamKind::DeadLetter).await?;
    anyhow::ensure!(
        all.len() == 1,
        "expected one dead letter, found {}",
        all.len()
    );
    Ok(all.remove(0))
}

/// Waits for the advisory of kind `kind` about `stream_seq` and replays it
/// through the advisory dead-letter path.
async fn advisory_path(env: &Env, kind: &str, stream_seq: u64) -> anyhow::Result<Published> {
    let advisory = eventually::eventually("advisory captured", Duration::from_secs(15), || async {
        let found = env
            .stored(StreamKind::Advisories)
            .await?
            .iter()
            .filter_map(|m| DeliveryAdvisory::parse(&m.payload).ok())
            .find(|a| a.kind == kind && a.stream_seq == stream_seq);
        found.ok_or_else(|| anyhow::anyhow!("no {kind} advisory for {stream_seq} yet"))
    })
    .await?;
    Ok(env.bus.advisory_dead_letter().handle(&advisory).await?)
}

#[tokio::test]
async fn dead_letter_outcome_lands_exactly_one_entry_even_with_the_advisory() -> anyhow::Result<()>
{
    let env = Env::new(common::consumer_settings(2000, 5)).await?;
    let recorder = Recorder::default();
    let rec = recorder.clone();
    let handler = move |d: Delivery| {
        let rec = rec.clone();
        async move {
            rec.record(&d);
            Ok::<_, HandlerError>(Outcome::dead_letter(
                FailureClass::Permanent,
                "contract failed validation:\nparty size missing",
            ))
        }
    };
    let running = env.spawn_loop(common::options(), handler).await?;
    let (envelope, published) = env.publish(0).await?;

    let letter = the_dead_letter(&env).await?;
    let pipeline = env.stream(StreamKind::Pipeline);
    let subjects = &env.nats.subjects;
    assert_eq!(
        letter.subject.as_str(),
        subjects.dead_letter(STAGE, WORKFLOW)?
    );
    assert_eq!(
        header(&letter, headers::MSG_ID),
        format!("dlq:{pipeline}:{}", published.sequence)
    );
    assert_eq!(header(&letter, dl::CLASS), "permanent");
    assert_eq!(
        header(&letter, dl::REASON),
        "contract failed validation: party size missing"
    );
    assert_eq!(header(&letter, dl::STREAM), pipeline);
    assert_eq!(
        header(&letter, dl::SEQUENCE),
        published.sequence.to_string()
    );
    assert_eq!(
        header(&letter, dl::SUBJECT),
        subjects.stage(STAGE, WORKFLOW)?
    );
    assert_eq!(
        header(&letter, dl::CONSUMER),
        subjects.consumer(STAGE, WORKFLOW)?
    );
    assert_eq!(header(&letter, dl::DELIVERIES), "1");
    let orig = |name: &str| header(&letter, &format!("{}{name}", dl::ORIGINAL_PREFIX));
    assert_eq!(
        orig(headers::MSG_ID),
        format!("{}:gate:0", envelope.execution_id)
    );
    assert_eq!(
        orig(headers::CORRELATION_ID),
        envelope.correlation_id.as_str()
    );
    assert_eq!(
        orig(headers::EXECUTION_ID),
        envelope.execution_id.to_string()
    );
    assert_eq!(orig(headers::STAGE), Stage::Gate.as_str());
    assert_eq!(orig(headers::WORKFLOW), WORKFLOW);
    assert!(!orig(headers::TRACEPARENT).is_empty());
    assert_eq!(letter.payload, envelope.encode()?);

    // The bus termed the original after dead-lettering: the terminated
    // advisory reports it too, and that path must not add a second entry.
    let again = advisory_path(&env, DeliveryAdvisory::TERMINATED, published.sequence).await?;
    assert!(again.duplicate);
    assert_eq!(env.stream_messages(StreamKind::DeadLetter).await?, 1);

    env.drained(Duration::from_secs(5)).await?;
    running.stop(Duration::from_secs(10)).await?;
    assert_eq!(
        recorder.len(),
        1,
        "a dead-lettered message is never redelivered"
    );
    env.nats.cleanup().await
}

#[tokio::test]
async fn final_delivery_of_a_retrying_handler_is_dead_lettered_once() -> anyhow::Result<()> {
    let env = Env::new(common::consumer_settings(2000, 3)).await?;
    let recorder = Recorder::default();
    let rec = recorder.clone();
    let handler = move |d: Delivery| {
        let rec = rec.clone();
        async move {
            rec.record(&d);
            Ok::<_, HandlerError>(Outcome::retry())
        }
    };
    let running = env.spawn_loop(common::options(), handler).await?;
    let (_, published) = env.publish(0).await?;

    let letter = the_dead_letter(&env).await?;
    assert_eq!(header(&letter, dl::CLASS), "temporary");
    assert_eq!(header(&letter, dl::DELIVERIES), "3");
    assert_eq!(
        header(&letter, dl::SEQUENCE),
        published.sequence.to_string()
    );

    let again = advisory_path(&env, DeliveryAdvisory::TERMINATED, published.sequence).await?;
    assert!(again.duplicate);
    assert_eq!(env.stream_messages(StreamKind::DeadLetter).await?, 1);

    env.drained(Duration::from_secs(5)).await?;
    running.stop(Duration::from_secs(10)).await?;
    let deliveries: Vec<u64> = recorder.calls().iter().map(|c| c.delivered).collect();
    assert_eq!(deliveries, vec![1, 2, 3]);
    env.nats.cleanup().await
}

#[tokio::test]
async fn handler_that_died_on_its_last_try_is_dead_lettered_by_the_advisory() -> anyhow::Result<()>
{
    let env = Env::new(common::consumer_settings(1000, 2)).await?;
    let (envelope, published) = env.publish(0).await?;

    // A "handler" that takes deliveries and dies without acking, twice.
    let consumer = env
        .bus
        .pull_consumer(
            StreamKind::Pipeline,
            &env.nats.subjects.consumer(STAGE, WORKFLOW)?,
        )
        .await?;
    // It keeps pulling, as a live consume loop would: JetStream notices that
    // deliveries are exhausted when it next tries to deliver the message.
    let seen = Arc::new(AtomicU64::new(0));
    let counter = seen.clone();
    let puller = tokio::spawn(async move {
        loop {
            let Ok(mut batch) = consumer
                .batch()
                .max_messages(1)
                .expires(Duration::from_millis(500))
                .messages()
                .await
            else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            while let Some(Ok(_dropped_unacked)) = batch.next().await {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }
    });

    let first = advisory_path(&env, DeliveryAdvisory::MAX_DELIVER, published.sequence).await;
    puller.abort();
    let first = first?;
    assert_eq!(seen.load(Ordering::SeqCst), 2, "max_deliver is 2");
    assert!(!first.duplicate);
    let letter = the_dead_letter(&env).await?;
    assert_eq!(header(&letter, dl::CLASS), "temporary");
    assert!(header(&letter, dl::REASON).contains("max deliveries"));
    assert_eq!(header(&letter, dl::DELIVERIES), "2");
    assert_eq!(
        letter.subject.as_str(),
        env.nats.subjects.dead_letter(STAGE, WORKFLOW)?
    );
    assert_eq!(letter.payload, envelope.encode()?);

    // The dead-letter service may see the same advisory twice (redelivery).
    let second = advisory_path(&env, DeliveryAdvisory::MAX_DELIVER, published.sequence).await?;
    assert!(second.duplicate);
    assert_eq!(env.stream_messages(StreamKind::DeadLetter).await?, 1);
    env.nats.cleanup().await
}
