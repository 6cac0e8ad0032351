//! Publishing stage hand-offs with a dedupe id, and waiting for JetStream to
//! store them.

use async_nats::HeaderMap;
use async_nats::jetstream;
use bytes::Bytes;
use sluice_core::{CorrelationId, Envelope, ExecutionId, MessageId, Stage, Subjects, headers};

use crate::Error;
use crate::trace::set_traceparent;

/// The headers every stage message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageHeaders {
    /// The execution the message belongs to.
    pub execution: ExecutionId,
    /// Ties every log line and message of the execution together.
    pub correlation: CorrelationId,
    /// The workflow the execution runs.
    pub workflow: String,
    /// The stage the message is addressed to.
    pub stage: Stage,
    /// The pass through `stage` (`0` first; grows on approval, reviewed retry
    /// or replay such as `replay:1`) so a legitimate second pass is never
    /// dropped as a duplicate.
    pub generation: String,
    /// The envelope version of the payload.
    pub envelope_version: u16,
    /// The incoming W3C `traceparent`; a fresh one is generated when absent
    /// or malformed.
    pub traceparent: Option<String>,
}

impl StageHeaders {
    /// Headers for handing `envelope` to `stage` on pass `generation`.
    pub fn for_envelope(envelope: &Envelope, stage: Stage, generation: impl Into<String>) -> Self {
        Self {
            execution: envelope.execution_id,
            correlation: envelope.correlation_id.clone(),
            workflow: envelope.workflow.clone(),
            stage,
            generation: generation.into(),
            envelope_version: envelope.version,
            traceparent: None,
        }
    }

    /// Carries `traceparent` (e.g. from the message being handled) onward.
    pub fn with_traceparent(mut self, traceparent: Option<&str>) -> Self {
        self.traceparent = traceparent.map(str::to_owned);
        self
    }

    /// `Nats-Msg-Id`: `<execution>:<stage>:<generation>`.
    pub fn message_id(&self) -> MessageId {
        MessageId::stage(self.execution, self.stage, &self.generation)
    }

    /// The NATS headers, with a valid `traceparent` always present.
    pub fn to_header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(headers::MSG_ID, header_value(self.message_id().as_str()));
        map.insert(
            headers::CORRELATION_ID,
            header_value(self.correlation.as_str()),
        );
        map.insert(headers::EXECUTION_ID, self.execution.to_string());
        map.insert(headers::WORKFLOW, header_value(&self.workflow));
        map.insert(headers::STAGE, self.stage.as_str());
        map.insert(headers::GENERATION, header_value(&self.generation));
        map.insert(headers::ENVELOPE_VERSION, self.envelope_version.to_string());
        set_traceparent(&mut map, self.traceparent.as_deref());
        map
    }
}

/// What JetStream answered to a publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The stream that stored (or already had) the message.
    pub stream: String,
    /// Its stream sequence (the original's, for a duplicate).
    pub sequence: u64,
    /// True when the `Nats-Msg-Id` was seen inside the duplicate window and
    /// the message was dropped.
    pub duplicate: bool,
}

/// Publishes stage messages and waits for the server's acknowledgement, so a
/// caller only acks its own input once the hand-off is durable.
#[derive(Debug, Clone)]
pub struct Publisher {
    js: jetstream::Context,
    subjects: Subjects,
}

impl Publisher {
    /// A publisher over `js` using the names of `subjects`.
    pub fn new(js: jetstream::Context, subjects: Subjects) -> Self {
        Self { js, subjects }
    }

    /// Publishes `payload` to the stage subject named by `headers`
    /// (`<prefix>.stage.<stage>.<workflow>`).
    pub async fn to_stage(
        &self,
        headers: &StageHeaders,
        payload: Bytes,
    ) -> Result<Published, Error> {
        let subject = self.subjects.stage(headers.stage, &headers.workflow)?;
        self.publish(subject, headers, payload).await
    }

    /// Encodes `envelope` and hands it to `stage` on pass `generation`,
    /// carrying `traceparent` along.
    pub async fn envelope_to_stage(
        &self,
        envelope: &Envelope,
        stage: Stage,
        generation: &str,
        traceparent: Option<&str>,
    ) -> Result<Published, Error> {
        let headers =
            StageHeaders::for_envelope(envelope, stage, generation).with_traceparent(traceparent);
        let payload = envelope.encode()?;
        self.to_stage(&headers, payload.into()).await
    }

    /// Publishes `payload` to `subject` with the stage headers and waits for
    /// the server's PubAck. A PubAck marked duplicate (the `Nats-Msg-Id` was
    /// seen inside the dedupe window) is counted as a prevented duplicate.
    pub async fn publish(
        &self,
        subject: String,
        headers: &StageHeaders,
        payload: Bytes,
    ) -> Result<Published, Error> {
        let published = publish_acked(&self.js, subject, headers.to_header_map(), payload).await?;
        if published.duplicate {
            crate::observe::prevented_duplicate(crate::observe::Layer::Message, headers.stage);
        }
        Ok(published)
    }
}

/// Publishes with `headers` and awaits the server's acknowledgement.
pub(crate) async fn publish_acked(
    js: &jetstream::Context,
    subject: String,
    headers: HeaderMap,
    payload: Bytes,
) -> Result<Published, Error> {
    let fail = |source| Error::Publish {
        subject: subject.clone(),
        source,
    };
    let ack = js
        .publish_with_headers(subject.clone(), headers, payload)
        .await
        .map_err(fail)?
        .await
        .map_err(fail)?;
    Ok(Published {
        stream: ack.stream,
        sequence: ack.sequence,
        duplicate: ack.duplicate,
    })
}

/// Makes free text safe as a NATS header value: the client panics on CR/LF,
/// and a header should be one line anyway.
pub(crate) fn header_value(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_are_single_line() {
        assert_eq!(header_value("a\r\nb\tc"), "a  b c");
    }

    #[test]
    fn stage_headers() {
        let execution = ExecutionId::derive("s", "e", "w");
        let h = StageHeaders {
            execution,
            correlation: CorrelationId::from_upstream(Some("corr-1")),
            workflow: "w".into(),
            stage: Stage::Gate,
            generation: "0".into(),
            envelope_version: 1,
            traceparent: None,
        };
        let map = h.to_header_map();
        let get = |k: &str| map.get(k).map(|v| v.as_str().to_owned());
        assert_eq!(get(headers::MSG_ID), Some(format!("{execution}:gate:0")));
        assert_eq!(get(headers::CORRELATION_ID).as_deref(), Some("corr-1"));
        assert_eq!(get(headers::STAGE).as_deref(), Some("gate"));
        assert_eq!(get(headers::ENVELOPE_VERSION).as_deref(), Some("1"));
        let tp = get(headers::TRACEPARENT).unwrap_or_default();
        assert!(crate::trace::is_valid_traceparent(&tp), "{tp}");
    }
}
