//! Upstream events published to `<prefix>.in.<source>.>` (sources declared
//! with `nats = true`), consumed from the ingest stream's durable consumer.
//!
//! Input that can never be accepted — not JSON, no event id, not matching
//! the schema — is dead-lettered to `<prefix>.dlq.ingest.<source>` with the
//! reason (the bus does the publish and the `term`); nothing is dropped
//! silently. Ledger or NATS trouble is retried with the bus's backoff.

use std::time::Duration;

use sluice_bus::{Delivery, HandlerError, Outcome};
use sluice_core::{CorrelationId, FailureClass, headers};
use tracing::Instrument as _;

use crate::accept::{Acceptor, Event};
use crate::sources::Sources;

/// The upstream correlation header also accepted on NATS input.
pub const X_CORRELATION_ID: &str = "X-Correlation-Id";

/// Handles deliveries of one source's ingest consumer.
#[derive(Debug, Clone)]
pub struct NatsInput {
    source: String,
    sources: Sources,
    acceptor: Acceptor,
    retry_after: Duration,
}

impl NatsInput {
    /// The handler for `source` (which must be in `sources`).
    pub fn new(
        source: String,
        sources: Sources,
        acceptor: Acceptor,
        retry_after: Duration,
    ) -> Self {
        Self {
            source,
            sources,
            acceptor,
            retry_after,
        }
    }

    /// Handles one delivery.
    pub async fn handle(&self, delivery: Delivery) -> Result<Outcome, HandlerError> {
        let Some(source) = self.sources.get(&self.source) else {
            return Ok(permanent(format!("source {} is not declared", self.source)));
        };
        let data: serde_json::Value = match serde_json::from_slice(&delivery.payload) {
            Ok(data) => data,
            Err(e) => return Ok(permanent(format!("payload is not JSON: {e}"))),
        };
        let Some(event_id) = event_id(&data, &source.spec.event_id_field, &delivery) else {
            return Ok(permanent(format!(
                "no event id: payload field {:?} is absent or empty and there is no {} header",
                source.spec.event_id_field,
                headers::MSG_ID
            )));
        };
        if let Err(violations) = source.validate(&data) {
            let listed: Vec<String> = violations
                .iter()
                .map(|v| format!("{} {}", display_path(&v.instance_path), v.message))
                .collect();
            return Ok(permanent(format!(
                "payload does not match the source's schema: {}",
                listed.join("; ")
            )));
        }
        let upstream = delivery
            .header(headers::CORRELATION_ID)
            .or_else(|| delivery.header(X_CORRELATION_ID));
        let correlation = CorrelationId::from_upstream(upstream);
        let span = tracing::info_span!("nats_event", source = %self.source, event_id = %event_id, correlation_id = %correlation);
        let event = Event {
            source: &self.source,
            event_id: &event_id,
            workflows: &source.spec.workflows,
            correlation,
            data: &data,
            via: "nats",
            by: None,
            traceparent: delivery.header(headers::TRACEPARENT),
        };
        match self.acceptor.accept(&event).instrument(span.clone()).await {
            Ok(_) => Ok(Outcome::Done),
            Err(err) => {
                span.in_scope(|| tracing::warn!(error = %err, "not accepted; will retry"));
                Ok(Outcome::retry_after(self.retry_after))
            }
        }
    }
}

fn permanent(reason: String) -> Outcome {
    tracing::warn!(reason = %reason, "dead-lettering NATS input");
    Outcome::dead_letter(FailureClass::Permanent, reason)
}

/// The event id: the payload's field (a non-empty string or a number), else
/// the `Nats-Msg-Id` header.
fn event_id(data: &serde_json::Value, field: &str, delivery: &Delivery) -> Option<String> {
    let from_payload = match data.get(field) {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    from_payload.or_else(|| {
        delivery
            .header(headers::MSG_ID)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    })
}

fn display_path(pointer: &str) -> &str {
    if pointer.is_empty() {
        "(root)"
    } else {
        pointer
    }
}
