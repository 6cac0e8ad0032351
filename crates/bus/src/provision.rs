//! Idempotent provisioning and reconciliation of streams, the kill-switch
//! bucket and the durable consumers.
//!
//! Every call is create-or-update: running it on an empty broker creates
//! everything, running it again changes nothing, and running it after a
//! config change (an upgrade) brings existing streams and consumers in line.
//! Consumers that are no longer declared are left alone on purpose: deleting
//! a durable consumer loses its ack state, which must be an explicit act.

use async_nats::jetstream::context::ConsumerInfoErrorKind;
use async_nats::jetstream::{self, consumer, kv, stream};
use sluice_core::subjects::StreamKind;
use sluice_core::{Stage, Subjects};

use crate::Error;
use crate::topology::{ConsumerSettings, Topology};

/// What a provisioning run created or reconciled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provisioned {
    /// Stream names, in provisioning order.
    pub streams: Vec<String>,
    /// Durable consumer names.
    pub consumers: Vec<String>,
    /// The kill-switch bucket.
    pub switches_bucket: String,
    /// The open-clarifications bucket.
    pub conversations_bucket: String,
    /// The schedules' lease bucket.
    pub schedules_bucket: String,
}

/// Creates or updates every stream, the kill-switch bucket and one durable
/// pull consumer per (stage, workflow) and per ingest source.
pub async fn provision(
    js: &jetstream::Context,
    subjects: &Subjects,
    topology: &Topology,
) -> Result<Provisioned, Error> {
    topology.validate()?;
    let mut done = Provisioned::default();
    for kind in StreamKind::ALL {
        done.streams
            .push(ensure_stream(js, subjects, topology, kind).await?);
    }
    done.switches_bucket = ensure_switches(js, subjects, topology).await?;
    done.conversations_bucket = ensure_conversations(js, subjects, topology).await?;
    done.schedules_bucket = ensure_bucket(
        js,
        kv::Config {
            bucket: subjects.schedules_bucket(),
            description: "sluice schedules: who fires each, and up to which slot".into(),
            storage: stream::StorageType::File,
            num_replicas: topology.switches_replicas.max(1),
            ..Default::default()
        },
    )
    .await?;

    for workflow in &topology.workflows {
        for stage in Stage::PIPELINE {
            let spec = ConsumerSpec {
                stream: subjects.stream(StreamKind::Pipeline),
                name: subjects.consumer(stage, workflow)?,
                filter: subjects.stage(stage, workflow)?,
                description: format!("sluice {stage} stage of workflow {workflow}"),
                settings: topology.consumer_settings(stage),
            };
            done.consumers.push(ensure_consumer(js, spec).await?);
        }
    }
    for source in &topology.sources {
        let spec = ConsumerSpec {
            stream: subjects.stream(StreamKind::Ingest),
            name: subjects.consumer(Stage::Ingest, source)?,
            filter: subjects.ingest_filter(source)?,
            description: format!("sluice ingest of source {source}"),
            settings: topology.consumer_settings(Stage::Ingest),
        };
        done.consumers.push(ensure_consumer(js, spec).await?);
    }
    Ok(done)
}

/// The stream configuration provisioning converges to.
pub fn stream_config(subjects: &Subjects, topology: &Topology, kind: StreamKind) -> stream::Config {
    let settings = topology.streams.get(kind);
    stream::Config {
        name: subjects.stream(kind),
        subjects: subjects.stream_subjects(kind),
        description: Some(format!("sluice {kind:?} stream")),
        // Limits, not work-queue or interest: messages must stay readable by
        // sequence after they are acked (dead letters, audit, invariants).
        retention: stream::RetentionPolicy::Limits,
        discard: stream::DiscardPolicy::Old,
        storage: stream::StorageType::File,
        num_replicas: settings.replicas.max(1),
        max_age: settings.max_age,
        duplicate_window: settings.duplicate_window,
        ..Default::default()
    }
}

async fn ensure_stream(
    js: &jetstream::Context,
    subjects: &Subjects,
    topology: &Topology,
    kind: StreamKind,
) -> Result<String, Error> {
    let config = stream_config(subjects, topology, kind);
    let name = config.name.clone();
    js.create_or_update_stream(config)
        .await
        .map_err(|source| Error::Stream {
            stream: name.clone(),
            source: source.into(),
        })?;
    Ok(name)
}

async fn ensure_switches(
    js: &jetstream::Context,
    subjects: &Subjects,
    topology: &Topology,
) -> Result<String, Error> {
    ensure_bucket(
        js,
        kv::Config {
            bucket: subjects.switches_bucket(),
            description: "sluice kill switches: <workflow> and <workflow>.<action>".into(),
            // A little history lets `sluice` show who flipped a switch and when.
            history: 10,
            storage: stream::StorageType::File,
            num_replicas: topology.switches_replicas.max(1),
            ..Default::default()
        },
    )
    .await
}

async fn ensure_conversations(
    js: &jetstream::Context,
    subjects: &Subjects,
    topology: &Topology,
) -> Result<String, Error> {
    ensure_bucket(
        js,
        kv::Config {
            bucket: subjects.conversations_bucket(),
            description: "sluice open clarifications: <workflow>.<conversation>".into(),
            // The bucket's max age is the clarification's time to live: an
            // answer after it starts a new request from scratch.
            max_age: topology
                .conversation_ttl
                .unwrap_or(crate::conversations::DEFAULT_TTL),
            storage: stream::StorageType::File,
            num_replicas: topology.switches_replicas.max(1),
            ..Default::default()
        },
    )
    .await
}

/// Creates the bucket or updates it to `config`; returns its name.
async fn ensure_bucket(js: &jetstream::Context, config: kv::Config) -> Result<String, Error> {
    let bucket = config.bucket.clone();
    js.create_or_update_key_value(config)
        .await
        .map_err(|source| Error::Bucket {
            bucket: bucket.clone(),
            source: source.into(),
        })?;
    Ok(bucket)
}

/// One durable consumer to converge to.
struct ConsumerSpec {
    stream: String,
    name: String,
    filter: String,
    description: String,
    settings: ConsumerSettings,
}

/// The pull-consumer configuration for a durable `name` reading `filter`.
pub fn consumer_config(
    name: &str,
    filter: &str,
    description: &str,
    settings: ConsumerSettings,
) -> consumer::pull::Config {
    consumer::pull::Config {
        durable_name: Some(name.to_owned()),
        name: Some(name.to_owned()),
        description: Some(description.to_owned()),
        deliver_policy: consumer::DeliverPolicy::All,
        ack_policy: consumer::AckPolicy::Explicit,
        ack_wait: settings.ack_wait,
        max_deliver: i64::from(settings.max_deliver),
        max_ack_pending: i64::from(settings.max_ack_pending),
        filter_subject: filter.to_owned(),
        // No server-side backoff: redelivery delays come from the bus's
        // `nak` with a computed delay, so one policy governs them.
        backoff: Vec::new(),
        ..Default::default()
    }
}

async fn ensure_consumer(js: &jetstream::Context, spec: ConsumerSpec) -> Result<String, Error> {
    let err = |source: async_nats::Error| Error::Consumer {
        stream: spec.stream.clone(),
        consumer: spec.name.clone(),
        source,
    };
    let stream = js
        .get_stream_no_info(&spec.stream)
        .await
        .map_err(|e| err(e.into()))?;
    let mut config = consumer_config(&spec.name, &spec.filter, &spec.description, spec.settings);
    // A consumer paused by a kill switch must stay paused across an upgrade:
    // carry the current pause deadline over instead of clearing it.
    match stream.consumer_info(&spec.name).await {
        Ok(info) => config.pause_until = info.config.pause_until,
        Err(e) if matches!(e.kind(), ConsumerInfoErrorKind::NotFound) => {}
        Err(e) => return Err(err(e.into())),
    }
    stream
        .create_consumer(config)
        .await
        .map_err(|e| err(e.into()))?;
    Ok(spec.name)
}
