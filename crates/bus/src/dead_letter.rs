//! Dead letters: built once, published with `dlq:<stream>:<sequence>` as the
//! dedupe id, from either the bus's final delivery or a JetStream advisory.
//!
//! Both paths produce the same `Nats-Msg-Id`, so whichever arrives second is
//! dropped by JetStream and an original message never has two entries in the
//! dead-letter stream (within its duplicate window, which is why that window
//! is long).

use std::str::FromStr;

use async_nats::HeaderMap;
use async_nats::header::HeaderName;
use async_nats::jetstream::{self, message::StreamMessage};
use bytes::Bytes;
use serde::Deserialize;
use sluice_core::{FailureClass, MessageId, Stage, Subjects, headers};

use crate::Error;
use crate::publish::{Published, header_value, publish_acked};

/// Everything a dead-letter entry records about the original message.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Where the dead letter goes: `<prefix>.dlq.<stage>.<workflow>`.
    pub subject: String,
    /// The failure class.
    pub class: FailureClass,
    /// One line saying why.
    pub reason: String,
    /// The stream storing the original.
    pub stream: String,
    /// The original's stream sequence.
    pub sequence: u64,
    /// The original's subject (where a replay sends it back).
    pub original_subject: String,
    /// The consumer that gave up.
    pub consumer: String,
    /// How many times the original was delivered.
    pub deliveries: u64,
    /// The original's headers, copied under `Sluice-Orig-<name>`.
    pub original_headers: HeaderMap,
    /// The original payload, unchanged.
    pub payload: Bytes,
}

impl DeadLetter {
    /// `dlq:<stream>:<sequence>`: the same for every path that reports this
    /// original.
    pub fn message_id(&self) -> MessageId {
        MessageId::dead_letter(&self.stream, self.sequence)
    }

    /// The dead letter's headers. The original's `Nats-Msg-Id` is copied only
    /// as `Sluice-Orig-Nats-Msg-Id`, never as the dead letter's own id, or
    /// every dead letter of one stage message would collide.
    pub fn headers(&self) -> HeaderMap {
        use headers::dead_letter as dl;
        let mut map = HeaderMap::new();
        for (name, values) in self.original_headers.iter() {
            let copied = format!("{}{name}", dl::ORIGINAL_PREFIX);
            // Names that were valid on the original stay valid with an ASCII
            // prefix; skip rather than panic if one somehow is not.
            let Ok(copied) = HeaderName::from_str(&copied) else {
                continue;
            };
            for value in values {
                map.append(copied.clone(), value.clone());
            }
        }
        map.insert(headers::MSG_ID, header_value(self.message_id().as_str()));
        map.insert(dl::CLASS, self.class.as_str());
        map.insert(dl::REASON, header_value(&self.reason));
        map.insert(dl::STREAM, header_value(&self.stream));
        map.insert(dl::SEQUENCE, self.sequence.to_string());
        map.insert(dl::SUBJECT, header_value(&self.original_subject));
        map.insert(dl::CONSUMER, header_value(&self.consumer));
        map.insert(dl::DELIVERIES, self.deliveries.to_string());
        // The entry joins the trace of the message it holds.
        let original = self
            .original_headers
            .get(headers::TRACEPARENT)
            .map(|v| v.as_str().to_owned());
        crate::trace::set_traceparent(&mut map, original.as_deref());
        map
    }

    /// Publishes the dead letter and waits for the server to store it.
    /// `duplicate` in the answer means the other path got there first.
    pub async fn publish(&self, js: &jetstream::Context) -> Result<Published, Error> {
        publish_acked(
            js,
            self.subject.clone(),
            self.headers(),
            self.payload.clone(),
        )
        .await
    }
}

/// The dead-letter subject for a message that was on `subject` with
/// `original` headers: from its `Sluice-Stage`/`Sluice-Workflow` headers, or
/// else from the subject itself (`<prefix>.stage.<stage>.<workflow>` or
/// `<prefix>.in.<source>.…`, which dead-letters to `ingest.<source>`).
pub fn dead_letter_subject(
    subjects: &Subjects,
    subject: &str,
    original: &HeaderMap,
) -> Result<String, Error> {
    let stage = original
        .get(headers::STAGE)
        .and_then(|v| Stage::from_str(v.as_str()).ok());
    if let (Some(stage), Some(workflow)) = (stage, original.get(headers::WORKFLOW))
        && let Ok(dlq) = subjects.dead_letter(stage, workflow.as_str())
    {
        return Ok(dlq);
    }
    let unroutable = || Error::Unroutable {
        subject: subject.to_owned(),
    };
    let rest = subject
        .strip_prefix(subjects.prefix())
        .and_then(|r| r.strip_prefix('.'))
        .ok_or_else(unroutable)?;
    let tokens: Vec<&str> = rest.split('.').collect();
    match tokens.as_slice() {
        ["stage", stage, workflow] => {
            let stage = Stage::from_str(stage).map_err(|_| unroutable())?;
            subjects
                .dead_letter(stage, workflow)
                .map_err(|_| unroutable())
        }
        ["in", source, _, ..] => subjects
            .dead_letter(Stage::Ingest, source)
            .map_err(|_| unroutable()),
        _ => Err(unroutable()),
    }
}

/// Reads the stored message `sequence` of `stream` (limits retention keeps
/// it after it was acked, until the stream's max age).
pub async fn stored_message(
    js: &jetstream::Context,
    stream: &str,
    sequence: u64,
) -> Result<StreamMessage, Error> {
    let fail = |source: async_nats::Error| Error::StoredMessage {
        stream: stream.to_owned(),
        sequence,
        source,
    };
    let handle = js
        .get_stream_no_info(stream)
        .await
        .map_err(|e| fail(e.into()))?;
    handle
        .get_raw_message(sequence)
        .await
        .map_err(|e| fail(e.into()))
}

/// A JetStream max-deliveries or message-terminated advisory, as captured by
/// the advisories stream.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DeliveryAdvisory {
    /// `io.nats.jetstream.advisory.v1.max_deliver` or `….terminated`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The stream of the original message.
    pub stream: String,
    /// The consumer that gave up on it.
    pub consumer: String,
    /// The original's stream sequence.
    pub stream_seq: u64,
    /// How many times it was delivered.
    pub deliveries: u64,
    /// The reason sent with `+TERM`, if any.
    #[serde(default)]
    pub reason: Option<String>,
}

impl DeliveryAdvisory {
    /// The JSON `type` of a max-deliveries advisory.
    pub const MAX_DELIVER: &'static str = "io.nats.jetstream.advisory.v1.max_deliver";
    /// The JSON `type` of a terminated advisory.
    pub const TERMINATED: &'static str = "io.nats.jetstream.advisory.v1.terminated";

    /// Parses an advisory's JSON payload.
    pub fn parse(payload: &[u8]) -> Result<Self, Error> {
        serde_json::from_slice(payload).map_err(Error::Advisory)
    }

    /// Whether this reports a message that ran out of deliveries (a handler
    /// that died or timed out on its last try) rather than one terminated.
    pub fn is_max_deliveries(&self) -> bool {
        self.kind == Self::MAX_DELIVER
    }
}

/// Dead-letters messages reported by JetStream advisories: the path that
/// catches handlers that died on their last delivery, and that is harmlessly
/// deduplicated when the bus already dead-lettered the message itself.
#[derive(Debug, Clone)]
pub struct AdvisoryDeadLetter {
    js: jetstream::Context,
    subjects: Subjects,
}

impl AdvisoryDeadLetter {
    /// Dead-letters into the streams named by `subjects`.
    pub fn new(js: jetstream::Context, subjects: Subjects) -> Self {
        Self { js, subjects }
    }

    /// Parses `payload` as an advisory and dead-letters the message it names.
    pub async fn handle_payload(&self, payload: &[u8]) -> Result<Published, Error> {
        self.handle(&DeliveryAdvisory::parse(payload)?).await
    }

    /// Reads the original message the advisory names and publishes its dead
    /// letter with `Nats-Msg-Id = dlq:<stream>:<seq>`.
    pub async fn handle(&self, advisory: &DeliveryAdvisory) -> Result<Published, Error> {
        let original = stored_message(&self.js, &advisory.stream, advisory.stream_seq).await?;
        let subject = original.subject.to_string();
        let (class, reason) = if advisory.is_max_deliveries() {
            (
                FailureClass::Temporary,
                format!("max deliveries ({}) reached", advisory.deliveries),
            )
        } else {
            // Normally the bus dead-letters before it terms, so this entry is
            // a duplicate; if not, someone terminated it without saying why.
            let why = advisory.reason.as_deref().unwrap_or("no reason given");
            (FailureClass::Unknown, format!("terminated: {why}"))
        };
        let letter = DeadLetter {
            subject: dead_letter_subject(&self.subjects, &subject, &original.headers)?,
            class,
            reason,
            stream: advisory.stream.clone(),
            sequence: advisory.stream_seq,
            original_subject: subject,
            consumer: advisory.consumer.clone(),
            deliveries: advisory.deliveries,
            original_headers: original.headers,
            payload: original.payload,
        };
        letter.publish(&self.js).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_headers_then_subject() {
        let s = Subjects::new("p").unwrap();
        let mut h = HeaderMap::new();
        h.insert(headers::STAGE, "gate");
        h.insert(headers::WORKFLOW, "w1");
        assert_eq!(
            dead_letter_subject(&s, "x.y", &h).ok().as_deref(),
            Some("p.dlq.gate.w1")
        );
        let none = HeaderMap::new();
        assert_eq!(
            dead_letter_subject(&s, "p.stage.execute.w2", &none)
                .ok()
                .as_deref(),
            Some("p.dlq.execute.w2")
        );
        assert_eq!(
            dead_letter_subject(&s, "p.in.whatsapp.msg", &none)
                .ok()
                .as_deref(),
            Some("p.dlq.ingest.whatsapp")
        );
        assert!(dead_letter_subject(&s, "q.stage.execute.w2", &none).is_err());
        assert!(dead_letter_subject(&s, "p.stage.nope.w2", &none).is_err());
    }

    #[test]
    fn copies_original_headers_under_a_prefix() {
        let mut original = HeaderMap::new();
        original.insert(headers::MSG_ID, "exec:gate:0");
        original.insert(headers::CORRELATION_ID, "c-1");
        let letter = DeadLetter {
            subject: "p.dlq.gate.w".into(),
            class: FailureClass::Permanent,
            reason: "bad\nthing".into(),
            stream: "P_PIPELINE".into(),
            sequence: 7,
            original_subject: "p.stage.gate.w".into(),
            consumer: "p-gate-w".into(),
            deliveries: 2,
            original_headers: original,
            payload: Bytes::from_static(b"{}"),
        };
        let h = letter.headers();
        let get = |k: &str| h.get(k).map(|v| v.as_str().to_owned());
        assert_eq!(get(headers::MSG_ID).as_deref(), Some("dlq:P_PIPELINE:7"));
        assert_eq!(
            get("Sluice-Orig-Nats-Msg-Id").as_deref(),
            Some("exec:gate:0")
        );
        assert_eq!(
            get("Sluice-Orig-Sluice-Correlation-Id").as_deref(),
            Some("c-1")
        );
        assert_eq!(
            get(headers::dead_letter::REASON).as_deref(),
            Some("bad thing")
        );
        assert_eq!(
            get(headers::dead_letter::CLASS).as_deref(),
            Some("permanent")
        );
    }

    #[test]
    fn parses_advisories() {
        let json = br#"{"type":"io.nats.jetstream.advisory.v1.max_deliver","id":"x",
            "timestamp":"2025-01-01T00:00:00Z","stream":"S","consumer":"C",
            "stream_seq":12,"deliveries":3}"#;
        let a = DeliveryAdvisory::parse(json).ok();
        assert_eq!(
            a.as_ref().map(|a| (a.stream_seq, a.deliveries)),
            Some((12, 3))
        );
        assert!(a.is_some_and(|a| a.is_max_deliveries()));
        assert!(DeliveryAdvisory::parse(b"{}").is_err());
    }
}
