//! Pausing and resuming consumers (JetStream ≥ 2.11).
//!
//! A switched-off workflow or a target outage pauses its consumers instead of
//! nak-looping: a paused consumer delivers nothing, so waiting neither uses up
//! `max_deliver` nor fills `max_ack_pending`, and on resume every stored
//! message is delivered as before.

use std::time::Duration;

use async_nats::jetstream;
use chrono::{DateTime, Utc};

use crate::Error;

/// A consumer's pause state as the server reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PauseState {
    /// Whether the consumer is paused now.
    pub paused: bool,
    /// How long until it resumes by itself, when paused.
    pub remaining: Option<Duration>,
}

/// Pauses `consumer` on `stream` until `until` (it resumes by itself then).
pub async fn pause_consumer(
    js: &jetstream::Context,
    stream: &str,
    consumer: &str,
    until: DateTime<Utc>,
) -> Result<PauseState, Error> {
    let fail = |source: async_nats::Error| Error::Consumer {
        stream: stream.to_owned(),
        consumer: consumer.to_owned(),
        source,
    };
    // Through nanoseconds so this works with either datetime backend
    // async-nats may be built with (`time` or `chrono`).
    let nanos = until
        .timestamp_nanos_opt()
        .ok_or_else(|| Error::Config(format!("pause deadline {until} is out of range")))?;
    let until = async_nats::datetime::from_nanos(i128::from(nanos)).map_err(fail)?;
    let handle = js
        .get_stream_no_info(stream)
        .await
        .map_err(|e| fail(e.into()))?;
    let response = handle
        .pause_consumer(consumer, until)
        .await
        .map_err(|e| fail(e.into()))?;
    Ok(PauseState {
        paused: response.paused,
        remaining: response.pause_remaining,
    })
}

/// Resumes a paused `consumer` on `stream` now.
pub async fn resume_consumer(
    js: &jetstream::Context,
    stream: &str,
    consumer: &str,
) -> Result<PauseState, Error> {
    let fail = |source: async_nats::Error| Error::Consumer {
        stream: stream.to_owned(),
        consumer: consumer.to_owned(),
        source,
    };
    let handle = js
        .get_stream_no_info(stream)
        .await
        .map_err(|e| fail(e.into()))?;
    let response = handle
        .resume_consumer(consumer)
        .await
        .map_err(|e| fail(e.into()))?;
    Ok(PauseState {
        paused: response.paused,
        remaining: response.pause_remaining,
    })
}

/// Reads whether `consumer` on `stream` is paused.
pub async fn pause_state(
    js: &jetstream::Context,
    stream: &str,
    consumer: &str,
) -> Result<PauseState, Error> {
    let fail = |source: async_nats::Error| Error::Consumer {
        stream: stream.to_owned(),
        consumer: consumer.to_owned(),
        source,
    };
    let handle = js
        .get_stream_no_info(stream)
        .await
        .map_err(|e| fail(e.into()))?;
    let info = handle
        .consumer_info(consumer)
        .await
        .map_err(|e| fail(e.into()))?;
    Ok(PauseState {
        paused: info.paused,
        remaining: info.pause_remaining,
    })
}
