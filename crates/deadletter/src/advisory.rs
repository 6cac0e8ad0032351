//! The advisory path: JetStream says a consumer gave up on a message (max
//! deliveries) or a message was terminated. The advisory is only a pointer;
//! the original stays in its stream, so it is read by sequence and
//! dead-lettered with the bus's own dedupe id.

use sluice_bus::{AdvisoryDeadLetter, Delivery, DeliveryAdvisory, HandlerError, Outcome};

/// How many deliveries an advisory gets whose original cannot be read,
/// before it is given up (the original aged out of its stream).
const MAX_READ_ATTEMPTS: u64 = 5;

/// Dead-letters what advisories report.
#[derive(Debug, Clone)]
pub(crate) struct Advisories {
    path: AdvisoryDeadLetter,
}

impl Advisories {
    pub(crate) fn new(path: AdvisoryDeadLetter) -> Self {
        Self { path }
    }

    /// Publishes the dead letter of the message `delivery` reports. A
    /// duplicate answer means the bus (or an earlier delivery of this
    /// advisory) already did; the dead-letter consumer indexes the one copy.
    pub(crate) async fn handle(&self, delivery: Delivery) -> Result<Outcome, HandlerError> {
        let advisory = match DeliveryAdvisory::parse(&delivery.payload) {
            Ok(advisory) => advisory,
            Err(err) => {
                // Nothing to point at: another kind of advisory, or garbage.
                tracing::debug!(subject = %delivery.subject, error = %err, "advisory ignored");
                return Ok(Outcome::Done);
            }
        };
        match self.path.handle(&advisory).await {
            Ok(published) => {
                tracing::info!(
                    kind = %advisory.kind,
                    stream = %advisory.stream,
                    stream_sequence = advisory.stream_seq,
                    duplicate = published.duplicate,
                    "advisory dead-lettered"
                );
                Ok(Outcome::Done)
            }
            Err(sluice_bus::Error::Unroutable { subject }) => {
                tracing::error!(%subject, "advisory names a message with no dead-letter subject");
                Ok(Outcome::Done)
            }
            Err(err @ sluice_bus::Error::StoredMessage { .. })
                if delivery.delivered >= MAX_READ_ATTEMPTS =>
            {
                tracing::error!(error = %err, "original of an advisory cannot be read: given up");
                Ok(Outcome::Done)
            }
            Err(err) => Err(err.into()),
        }
    }
}
