//! Turning a handler's [`Outcome`] into an acknowledgement — the one place
//! where the bus decides ack, nak, dead-letter and term.

use async_nats::jetstream::{self, AckKind};
use sluice_core::FailureClass;

use crate::backoff::Backoff;
use crate::dead_letter::DeadLetter;
use crate::delivery::Meta;
use crate::{Error, Outcome};

/// Settles deliveries of one consumer.
#[derive(Debug, Clone)]
pub(crate) struct Settler {
    js: jetstream::Context,
    dead_letter_subject: String,
    backoff: Backoff,
    max_deliver: Option<u64>,
}

impl Settler {
    pub(crate) fn new(
        js: jetstream::Context,
        dead_letter_subject: String,
        backoff: Backoff,
        max_deliver: Option<u64>,
    ) -> Self {
        Self {
            js,
            dead_letter_subject,
            backoff,
            max_deliver,
        }
    }

    pub(crate) fn max_deliver(&self) -> Option<u64> {
        self.max_deliver
    }

    /// Applies `outcome` to `message`. Failures are logged, not returned:
    /// an unacked message is redelivered after `ack_wait`, which is the
    /// at-least-once fallback for every step here.
    pub(crate) async fn settle(&self, message: &jetstream::Message, meta: &Meta, outcome: Outcome) {
        let result = match outcome {
            Outcome::Done => message.double_ack().await.map_err(|source| Error::Ack {
                what: "ack",
                source,
            }),
            Outcome::Retry { .. } if self.is_final(meta) => {
                let reason = format!("still failing after {} deliveries", meta.delivered);
                self.dead_letter(message, meta, FailureClass::Temporary, reason)
                    .await
            }
            Outcome::Retry { after } => {
                let delay =
                    self.backoff
                        .nak_delay(after, meta.delivered, &mut fastrand::Rng::new());
                nak(message, Some(delay)).await
            }
            Outcome::DeadLetter { class, reason } => {
                self.dead_letter(message, meta, class, reason).await
            }
        };
        if let Err(err) = result {
            tracing::warn!(error = %err, "could not settle delivery; it will be redelivered");
        }
    }

    /// Hands a message back unprocessed (shutdown), for immediate redelivery.
    pub(crate) async fn abandon(&self, message: &jetstream::Message) {
        if let Err(err) = nak(message, None).await {
            tracing::warn!(error = %err, "nak at shutdown failed; redelivered after ack_wait");
        }
    }

    fn is_final(&self, meta: &Meta) -> bool {
        self.max_deliver.is_some_and(|max| meta.delivered >= max)
    }

    /// Publishes the dead letter, waits for it to be stored, then terms the
    /// original. If the publish fails the original is nakked instead, so it
    /// is tried again — or, on its last delivery, reported by the
    /// max-deliveries advisory and dead-lettered by that path.
    async fn dead_letter(
        &self,
        message: &jetstream::Message,
        meta: &Meta,
        class: FailureClass,
        reason: String,
    ) -> Result<(), Error> {
        let letter = DeadLetter {
            subject: self.dead_letter_subject.clone(),
            class,
            reason,
            stream: meta.stream.clone(),
            sequence: meta.stream_sequence,
            original_subject: message.subject.to_string(),
            consumer: meta.consumer.clone(),
            deliveries: meta.delivered,
            original_headers: message.headers.clone().unwrap_or_default(),
            payload: message.payload.clone(),
        };
        match letter.publish(&self.js).await {
            Ok(published) => {
                tracing::info!(
                    class = %letter.class,
                    reason = %letter.reason,
                    duplicate = published.duplicate,
                    "dead-lettered"
                );
                message
                    .ack_with(AckKind::Term)
                    .await
                    .map_err(|source| Error::Ack {
                        what: "term",
                        source,
                    })
            }
            Err(err) => {
                tracing::error!(error = %err, "dead-letter publish failed; nakking");
                let delay = self.backoff.nak_delay(
                    Default::default(),
                    meta.delivered,
                    &mut fastrand::Rng::new(),
                );
                nak(message, Some(delay)).await
            }
        }
    }
}

async fn nak(
    message: &jetstream::Message,
    delay: Option<std::time::Duration>,
) -> Result<(), Error> {
    message
        .ack_with(AckKind::Nak(delay))
        .await
        .map_err(|source| Error::Ack {
            what: "nak",
            source,
        })
}
