//! The handler's view of one delivery, and the handler trait.

use std::future::Future;
use std::sync::Arc;

use async_nats::HeaderMap;
use async_nats::jetstream::message::Acker;
use async_nats::jetstream::{self, AckKind};
use bytes::Bytes;

use crate::{Error, Outcome};

/// What a handler's failure looks like; the bus maps it to [`Outcome::Retry`].
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// One delivery of a stored message, as a handler sees it.
///
/// It is a cheap copy of the message's data: the bus keeps the original to
/// acknowledge it from the handler's [`Outcome`], so a handler cannot ack,
/// nak or term by mistake.
#[derive(Clone)]
pub struct Delivery {
    /// The subject the message was published to.
    pub subject: String,
    /// Its headers (empty when it had none).
    pub headers: HeaderMap,
    /// Its payload.
    pub payload: Bytes,
    /// The stream that stores it.
    pub stream: String,
    /// The durable consumer delivering it.
    pub consumer: String,
    /// Its sequence in `stream`: the id the dead-letter service uses.
    pub stream_sequence: u64,
    /// This delivery's number, starting at 1.
    pub delivered: u64,
    /// The consumer's `max_deliver`, when limited.
    pub max_deliver: Option<u64>,
    progress: Arc<Acker>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("subject", &self.subject)
            .field("stream", &self.stream)
            .field("stream_sequence", &self.stream_sequence)
            .field("delivered", &self.delivered)
            .field("payload_len", &self.payload.len())
            .finish_non_exhaustive()
    }
}

/// Delivery metadata parsed from the JetStream reply subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Meta {
    pub stream: String,
    pub consumer: String,
    pub stream_sequence: u64,
    pub delivered: u64,
}

impl Meta {
    pub(crate) fn of(message: &jetstream::Message) -> Result<Self, Error> {
        let info = message.info().map_err(Error::NotJetStream)?;
        Ok(Self {
            stream: info.stream.to_owned(),
            consumer: info.consumer.to_owned(),
            stream_sequence: info.stream_sequence,
            delivered: u64::try_from(info.delivered).unwrap_or(1).max(1),
        })
    }
}

impl Delivery {
    pub(crate) fn new(message: &jetstream::Message, meta: &Meta, max_deliver: Option<u64>) -> Self {
        Self {
            subject: message.subject.to_string(),
            headers: message.headers.clone().unwrap_or_default(),
            payload: message.payload.clone(),
            stream: meta.stream.clone(),
            consumer: meta.consumer.clone(),
            stream_sequence: meta.stream_sequence,
            delivered: meta.delivered,
            max_deliver,
            progress: Arc::new(Acker::new(message.context.clone(), message.reply.clone())),
        }
    }

    /// The value of header `name`, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.as_str())
    }

    /// The pipeline envelope a stage message carries, checked against the
    /// stage headers it must have: its execution, correlation and workflow,
    /// each equal to the envelope's. A message without them was not sent by
    /// a Sluice stage (or was altered on the way), and nothing may be decided
    /// on it. The error is the dead-letter reason.
    pub fn envelope(&self) -> Result<sluice_core::Envelope, String> {
        use sluice_core::headers::{CORRELATION_ID, EXECUTION_ID, WORKFLOW};
        let envelope = sluice_core::Envelope::decode(&self.payload)
            .map_err(|e| format!("undecodable envelope: {e}"))?;
        let expected = [
            (EXECUTION_ID, envelope.execution_id.to_string()),
            (CORRELATION_ID, envelope.correlation_id.to_string()),
            (WORKFLOW, envelope.workflow.clone()),
        ];
        for (name, wanted) in expected {
            match self.header(name) {
                None => return Err(format!("stage message without its {name} header")),
                Some(found) if found != wanted => {
                    return Err(format!(
                        "header {name} {found:?} disagrees with the envelope's {wanted:?}"
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(envelope)
    }

    /// Whether this is the consumer's last allowed delivery: a `Retry` now
    /// becomes a dead letter.
    pub fn is_final_delivery(&self) -> bool {
        self.max_deliver.is_some_and(|max| self.delivered >= max)
    }

    /// Tells JetStream the handler is still working, restarting the ack-wait
    /// clock. The consume loop already does this periodically; call it for
    /// an extra nudge before a known long step.
    pub async fn in_progress(&self) -> Result<(), Error> {
        self.progress
            .ack_with(AckKind::Progress)
            .await
            .map_err(|source| Error::Ack {
                what: "in progress",
                source,
            })
    }
}

/// Processes one delivery and says what should happen to it.
///
/// Return `Err` for failures you did not classify: the bus treats them (and
/// panics) as [`Outcome::Retry`] with backoff. Closures
/// `Fn(Delivery) -> impl Future<Output = Result<Outcome, HandlerError>>`
/// implement it.
pub trait Handler: Send + Sync + 'static {
    /// Handles `delivery`.
    fn handle(
        &self,
        delivery: Delivery,
    ) -> impl Future<Output = Result<Outcome, HandlerError>> + Send;
}

impl<F, Fut> Handler for F
where
    F: Fn(Delivery) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Outcome, HandlerError>> + Send,
{
    fn handle(
        &self,
        delivery: Delivery,
    ) -> impl Future<Output = Result<Outcome, HandlerError>> + Send {
        self(delivery)
    }
}
