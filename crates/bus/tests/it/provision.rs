//! (a) Provisioning is idempotent and reconciles changed settings.

use std::time::Duration;

use async_nats::jetstream::stream::{RetentionPolicy, StorageType};
use sluice_bus::provision;
use sluice_core::Stage;
use sluice_core::subjects::StreamKind;

use crate::common::{self, Env, SOURCE, WORKFLOW};

#[tokio::test]
async fn provisioning_twice_is_idempotent_and_reconciles_consumers() -> anyhow::Result<()> {
    let settings = common::consumer_settings(2000, 5);
    let env = Env::new(settings).await?;
    let (js, subjects) = (&env.nats.jetstream, &env.nats.subjects);
    let mut topology = common::topology(settings);

    // Second run on an already provisioned prefix: same result, no error.
    let again = provision(js, subjects, &topology).await?;
    let once_more = provision(js, subjects, &topology).await?;
    assert_eq!(again, once_more);
    assert_eq!(again.streams.len(), 5);
    // Four pipeline stages for the workflow plus one ingest consumer.
    assert_eq!(again.consumers.len(), 5);

    for kind in StreamKind::ALL {
        let mut stream = js.get_stream(subjects.stream(kind)).await?;
        let config = &stream.info().await?.config;
        assert_eq!(config.retention, RetentionPolicy::Limits, "{kind:?}");
        assert_eq!(config.storage, StorageType::File, "{kind:?}");
        assert_eq!(config.max_age, Duration::from_secs(3600), "{kind:?}");
        assert_eq!(config.subjects, subjects.stream_subjects(kind), "{kind:?}");
    }
    js.get_key_value(subjects.switches_bucket()).await?;

    let pipeline = js.get_stream(subjects.stream(StreamKind::Pipeline)).await?;
    for stage in Stage::PIPELINE {
        let info = pipeline
            .consumer_info(subjects.consumer(stage, WORKFLOW)?)
            .await?;
        assert_eq!(info.config.filter_subject, subjects.stage(stage, WORKFLOW)?);
        assert_eq!(info.config.max_deliver, 5);
        assert_eq!(info.config.ack_wait, Duration::from_secs(2));
        assert!(info.config.backoff.is_empty());
    }
    let ingest = js.get_stream(subjects.stream(StreamKind::Ingest)).await?;
    let info = ingest
        .consumer_info(subjects.consumer(Stage::Ingest, SOURCE)?)
        .await?;
    assert_eq!(info.config.filter_subject, subjects.ingest_filter(SOURCE)?);

    // A paused consumer must stay paused across a reconcile (kill switch).
    let until = chrono::Utc::now() + chrono::Duration::hours(1);
    env.bus.pause_stage(Stage::Execute, WORKFLOW, until).await?;

    // An upgrade changes limits: the next run updates existing resources.
    topology.consumers.max_deliver = 9;
    topology.consumers.ack_wait = Duration::from_secs(3);
    topology.consumers.max_ack_pending = 7;
    topology
        .stage_consumers
        .insert(Stage::Notify, common::consumer_settings(4000, 2));
    topology.streams.pipeline.max_age = Duration::from_secs(7200);
    provision(js, subjects, &topology).await?;

    let gate = pipeline
        .consumer_info(subjects.consumer(Stage::Gate, WORKFLOW)?)
        .await?;
    assert_eq!(gate.config.max_deliver, 9);
    assert_eq!(gate.config.ack_wait, Duration::from_secs(3));
    assert_eq!(gate.config.max_ack_pending, 7);
    let notify = pipeline
        .consumer_info(subjects.consumer(Stage::Notify, WORKFLOW)?)
        .await?;
    assert_eq!(notify.config.max_deliver, 2);
    assert_eq!(notify.config.ack_wait, Duration::from_secs(4));
    let execute = pipeline
        .consumer_info(subjects.consumer(Stage::Execute, WORKFLOW)?)
        .await?;
    assert!(
        execute.paused,
        "reconcile must not resume a paused consumer"
    );
    let mut stream = js.get_stream(subjects.stream(StreamKind::Pipeline)).await?;
    assert_eq!(
        stream.info().await?.config.max_age,
        Duration::from_secs(7200)
    );

    env.nats.cleanup().await
}

#[tokio::test]
async fn invalid_topologies_are_refused_before_touching_the_broker() {
    let mut topology = common::topology(common::consumer_settings(1000, 0));
    assert!(topology.validate().is_err());
    topology.consumers.max_deliver = 3;
    assert!(topology.validate().is_ok());
    topology.streams.dead_letter.duplicate_window = Duration::from_secs(100_000);
    assert!(topology.validate().is_err());
}
