//! Announcements for upstream systems and alerting.
//!
//! Every terminal transition, and every entry into review or the dead-letter
//! stream, is published on `<prefix>.events.<state>.<workflow>` so owners can
//! subscribe instead of polling the ledger.

use async_nats::HeaderMap;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sluice_core::{CorrelationId, Envelope, ExecutionId, State, headers};

use crate::publish::{Published, publish_acked};
use crate::{Bus, Error};

/// The body of an announcement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionEvent {
    /// The execution.
    pub execution_id: ExecutionId,
    /// Its correlation id.
    pub correlation_id: CorrelationId,
    /// Its workflow.
    pub workflow: String,
    /// The state it reached.
    pub state: State,
    /// One line for people: what happened.
    pub outcome: String,
    /// The target's id for what was written, if anything was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Structured context (a review's handoff, a dead letter's reason…).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub detail: serde_json::Value,
    /// When it was announced.
    pub at: DateTime<Utc>,
}

impl ExecutionEvent {
    /// An announcement that `envelope`'s execution reached `state`.
    pub fn new(envelope: &Envelope, state: State, outcome: impl Into<String>) -> Self {
        Self {
            execution_id: envelope.execution_id,
            correlation_id: envelope.correlation_id.clone(),
            workflow: envelope.workflow.clone(),
            state,
            outcome: outcome.into(),
            external_id: None,
            detail: serde_json::Value::Null,
            at: Utc::now(),
        }
    }
}

impl Bus {
    /// Publishes `event` on `<prefix>.events.<state>.<workflow>` and waits for
    /// the server's acknowledgement.
    ///
    /// The `Nats-Msg-Id` is `<execution>:event:<state>`: a stage that crashes
    /// after announcing and announces again on redelivery publishes one event,
    /// not two.
    pub async fn announce(&self, event: &ExecutionEvent) -> Result<Published, Error> {
        let name = event.state.as_str().to_ascii_lowercase();
        let msg_id = format!("{}:event:{}", event.execution_id, event.state.as_str());
        self.announce_named(&name, &msg_id, event).await
    }

    /// Publishes `event` on `<prefix>.events.<name>.<workflow>` with
    /// `Nats-Msg-Id = msg_id`, for announcements that are not a state change
    /// (`review_overdue`).
    pub async fn announce_named(
        &self,
        name: &str,
        msg_id: &str,
        event: &ExecutionEvent,
    ) -> Result<Published, Error> {
        let subject = self.subjects().event_named(name, &event.workflow)?;
        let mut map = HeaderMap::new();
        map.insert(headers::MSG_ID, msg_id);
        map.insert(headers::CORRELATION_ID, event.correlation_id.as_str());
        map.insert(
            headers::EXECUTION_ID,
            event.execution_id.to_string().as_str(),
        );
        map.insert(headers::WORKFLOW, event.workflow.as_str());
        crate::trace::set_traceparent(&mut map, None);
        let payload = serde_json::to_vec(event).map_err(sluice_core::Error::from)?;
        publish_acked(self.jetstream(), subject, map, payload.into()).await
    }
}
