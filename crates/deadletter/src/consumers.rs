//! The service's own durable consumers, created (or reconciled) at start-up
//! so that provisioning the pipeline need not know about them.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::PullConsumer};
use sluice_bus::ConsumerSettings;
use sluice_bus::provision::consumer_config;
use sluice_core::Subjects;
use sluice_core::subjects::StreamKind;

use crate::Error;

/// The durable consumer of the dead-letter stream: `<prefix>-deadletter`.
pub const DEAD_LETTERS_CONSUMER: &str = "deadletter";
/// The durable consumer of the advisories stream:
/// `<prefix>-deadletter-advisories`.
pub const ADVISORIES_CONSUMER: &str = "deadletter-advisories";

/// The consumer of every dead letter, `<prefix>.dlq.>`.
pub(crate) async fn dead_letters(
    js: &jetstream::Context,
    subjects: &Subjects,
    ack_wait: Duration,
) -> Result<PullConsumer, Error> {
    let filter = format!("{}.dlq.>", subjects.prefix());
    ensure(
        js,
        subjects,
        StreamKind::DeadLetter,
        DEAD_LETTERS_CONSUMER,
        &filter,
        ack_wait,
    )
    .await
}

/// The consumer of every captured advisory (the stream holds only the
/// max-deliveries and terminated advisories of this prefix's streams).
pub(crate) async fn advisories(
    js: &jetstream::Context,
    subjects: &Subjects,
    ack_wait: Duration,
) -> Result<PullConsumer, Error> {
    ensure(
        js,
        subjects,
        StreamKind::Advisories,
        ADVISORIES_CONSUMER,
        "",
        ack_wait,
    )
    .await
}

async fn ensure(
    js: &jetstream::Context,
    subjects: &Subjects,
    kind: StreamKind,
    suffix: &str,
    filter: &str,
    ack_wait: Duration,
) -> Result<PullConsumer, Error> {
    let stream = subjects.stream(kind);
    let name = format!("{}-{suffix}", subjects.prefix());
    let fail = |reason: String| Error::Consumer {
        stream: stream.clone(),
        consumer: name.clone(),
        reason,
    };
    let settings = ConsumerSettings {
        ack_wait,
        ..ConsumerSettings::default()
    };
    let description = format!("sluice dead-letter service ({kind:?})");
    let mut config = consumer_config(&name, filter, &description, settings);
    // Unlimited deliveries: this service is the end of the line. Nothing it
    // cannot index yet (ledger down) may be dropped or dead-lettered again;
    // it waits with backoff instead.
    config.max_deliver = 0;
    let handle = js
        .get_stream_no_info(&stream)
        .await
        .map_err(|e| fail(e.to_string()))?;
    handle
        .create_consumer(config)
        .await
        .map_err(|e| fail(e.to_string()))
}
