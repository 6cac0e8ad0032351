//! Looking a stored message up by its `Nats-Msg-Id`.
//!
//! The broker's dedupe window forgets ids after a while, so a publisher that
//! may have published before it was interrupted (a resumed dead-letter
//! replay) cannot rely on the broker to drop its second copy. Streams keep
//! messages after they are acked (limits retention), so the publisher looks
//! for its own copy instead: headers only, on one subject, from the moment it
//! began.

use async_nats::jetstream::{self, consumer::DeliverPolicy, consumer::pull};
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use sluice_core::headers;

use crate::error::Error;

/// How long to wait for the next stored message while scanning; the scan
/// knows how many there are, so this only bounds a broker that stops
/// answering.
const NEXT_MESSAGE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A fresh name for the lookup's consumer. Named, its create request is
/// `$JS.API.CONSUMER.CREATE.<stream>.<name>.<subject>`, so a user allowed to
/// look up (the review console) can be refused the names of the pipeline's
/// own consumers; an unnamed request names its consumer in the body, where
/// the server would update whichever existing consumer it names.
fn lookup_name() -> String {
    format!("lookup-{:016x}", fastrand::u64(..))
}

/// The stream sequence of the message stored on `subject` at or after `since`
/// whose `Nats-Msg-Id` is `msg_id`, if there is one.
pub async fn find_by_msg_id(
    js: &jetstream::Context,
    subject: &str,
    msg_id: &str,
    since: DateTime<Utc>,
) -> Result<Option<u64>, Error> {
    let stream_name = js
        .stream_by_subject(subject)
        .await
        .map_err(|e| Error::Stream {
            stream: format!("(holding {subject})"),
            source: e.into(),
        })?;
    let fail = |source: async_nats::Error| Error::Consumer {
        stream: stream_name.clone(),
        consumer: "(ephemeral lookup)".to_owned(),
        source,
    };
    let nanos = since
        .timestamp_nanos_opt()
        .ok_or_else(|| Error::Config(format!("{since} is out of range")))?;
    let start_time = async_nats::datetime::from_nanos(i128::from(nanos)).map_err(fail)?;
    let stream = js
        .get_stream_no_info(&stream_name)
        .await
        .map_err(|e| fail(e.into()))?;
    let mut consumer = stream
        .create_consumer(pull::OrderedConfig {
            name: Some(lookup_name()),
            filter_subject: subject.to_owned(),
            deliver_policy: DeliverPolicy::ByStartTime { start_time },
            headers_only: true,
            ..Default::default()
        })
        .await
        .map_err(|e| fail(e.into()))?;
    // Nothing stored since then: nothing to read (and nothing would arrive).
    if consumer
        .info()
        .await
        .map_err(|e| fail(e.into()))?
        .num_pending
        == 0
    {
        return Ok(None);
    }
    let mut messages = consumer.messages().await.map_err(|e| fail(e.into()))?;
    loop {
        let next = tokio::time::timeout(NEXT_MESSAGE_TIMEOUT, messages.next())
            .await
            .map_err(|e| fail(e.into()))?;
        let Some(message) = next else {
            return Ok(None);
        };
        let message = message.map_err(|e| fail(e.into()))?;
        let info = message.info().map_err(fail)?;
        let (sequence, pending) = (info.stream_sequence, info.pending);
        let id = message
            .headers
            .as_ref()
            .and_then(|h| h.get(headers::MSG_ID))
            .map(|v| v.as_str());
        if id == Some(msg_id) {
            return Ok(Some(sequence));
        }
        if pending == 0 {
            return Ok(None);
        }
    }
}
