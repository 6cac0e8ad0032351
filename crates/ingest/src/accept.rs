//! Accepting one authenticated, validated event: for each workflow the
//! source feeds, record RECEIVED and VALIDATED in the ledger, then publish
//! the envelope to the interpret stage. Shared by webhooks and NATS input.
//!
//! Ordering is what makes it safe to repeat: the execution id is derived
//! from `(source, event id, workflow)`, the ledger's creation and
//! transitions are idempotent, and the stage publish carries
//! `Nats-Msg-Id = <execution>:interpret:0`. So a duplicate — or a retry after
//! a crash between record and publish — records nothing new and republishes
//! a message JetStream drops inside its dedupe window. An execution the
//! interpreter has already moved on is not republished at all.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sluice_bus::observe::Layer;
use sluice_bus::{Bus, Publisher};
use sluice_core::{CorrelationId, Envelope, ExecutionId, Stage, State};
use sluice_ledger::{LedgerClient, Origin, Repeat, Transition};

/// The stage generation of a first pass through interpret.
pub const GENERATION: &str = "0";

/// One event to accept.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// The declared source.
    pub source: &'a str,
    /// The upstream's id for the event (webhook id, message id).
    pub event_id: &'a str,
    /// The workflows the source feeds.
    pub workflows: &'a [String],
    /// The upstream's correlation id (used unless the event was seen before).
    pub correlation: CorrelationId,
    /// The accepted payload.
    pub data: &'a serde_json::Value,
    /// How it came in (`webhook`, `nats`, `schedule` or `manual`),
    /// journalled.
    pub via: &'static str,
    /// Who started it by hand (the caller's token name), journalled.
    pub by: Option<&'a str>,
    /// Incoming W3C trace context.
    pub traceparent: Option<&'a str>,
}

/// What was accepted: the body of the 202 answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Accepted {
    /// One execution per workflow the source feeds.
    pub executions: Vec<AcceptedExecution>,
    /// The correlation id of every execution of the event (the original
    /// one when the event was seen before).
    pub correlation_id: String,
}

/// One execution of an accepted event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AcceptedExecution {
    /// The workflow.
    pub workflow: String,
    /// The derived execution id.
    pub execution_id: ExecutionId,
}

/// Why an event could not be accepted; every case is temporary.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// The ledger could not record the event.
    #[error("ledger: {0}")]
    Ledger(#[from] sluice_ledger::Error),
    /// NATS is disconnected or did not acknowledge the publish in time.
    #[error("NATS: {0}")]
    Nats(String),
}

/// Records and publishes accepted events.
#[derive(Debug, Clone)]
pub struct Acceptor {
    ledger: LedgerClient,
    bus: Bus,
    publisher: Publisher,
    publish_timeout: Duration,
}

impl Acceptor {
    /// An acceptor over `ledger` and `bus`.
    pub fn new(ledger: LedgerClient, bus: Bus, publish_timeout: Duration) -> Self {
        let publisher = bus.publisher();
        Self {
            ledger,
            bus,
            publisher,
            publish_timeout,
        }
    }

    /// The ledger client.
    pub fn ledger(&self) -> &LedgerClient {
        &self.ledger
    }

    /// Whether the NATS connection is up right now. Checked before anything
    /// is recorded, so that an outage known in advance records nothing.
    pub fn nats_connected(&self) -> bool {
        self.bus.client().connection_state() == async_nats::connection::State::Connected
    }

    /// Records and publishes `event` for each of its workflows.
    pub async fn accept(&self, event: &Event<'_>) -> Result<Accepted, AcceptError> {
        if !self.nats_connected() {
            return Err(AcceptError::Nats("not connected".to_owned()));
        }
        let mut correlation = event.correlation.clone();
        let mut executions = Vec::with_capacity(event.workflows.len());
        for workflow in event.workflows {
            // The first workflow settles the correlation id: a repeat of the
            // event answers with the one recorded the first time.
            let (envelope, publish) = self.record(event, workflow, &correlation).await?;
            correlation = envelope.correlation_id.clone();
            if publish {
                self.publish(&envelope, event.traceparent).await?;
            } else {
                // Seen before and already handed on: the repeat stops here.
                // (A repeat that is republished is counted by the publisher
                // when JetStream drops it.)
                sluice_bus::observe::prevented_duplicate(Layer::Message, Stage::Interpret);
            }
            executions.push(AcceptedExecution {
                workflow: workflow.clone(),
                execution_id: envelope.execution_id,
            });
        }
        Ok(Accepted {
            executions,
            correlation_id: correlation.to_string(),
        })
    }

    /// Records RECEIVED (creating the execution) and VALIDATED; returns the
    /// envelope to publish and whether it still needs publishing.
    async fn record(
        &self,
        event: &Event<'_>,
        workflow: &str,
        correlation: &CorrelationId,
    ) -> Result<(Envelope, bool), AcceptError> {
        let id = ExecutionId::derive(event.source, event.event_id, workflow);
        let mut detail = serde_json::json!({ "via": event.via });
        if let Some(by) = event.by {
            detail["by"] = by.into();
        }
        // Created and handed over in one call: RECEIVED, then the
        // compare-and-set to VALIDATED. A repeat of the event finds the
        // execution: the creation answers "exists" and VALIDATED is a no-op
        // (not handed over yet, or again: publishing is deduplicated) or
        // refused (the interpreter has it).
        let path = [
            Transition {
                origin: Origin {
                    workflow: workflow.to_owned(),
                    source: event.source.to_owned(),
                    event_id: event.event_id.to_owned(),
                    correlation_id: correlation.to_string(),
                },
                ..transition(id, None, State::Received, Some(detail))
            },
            transition(id, Some(State::Received), State::Validated, None),
        ];
        let (publish, created) = match self.ledger.record_steps(&path, Repeat::Answer).await {
            Ok(steps) => (true, steps.first().is_some_and(|s| s.applied)),
            Err(sluice_ledger::Error::Status(s)) if s.code() == tonic::Code::FailedPrecondition => {
                (false, false)
            }
            Err(err) => return Err(err.into()),
        };
        // A repeat carries what was recorded the first time.
        let (correlation, received_at) = if created {
            (correlation.clone(), Utc::now())
        } else {
            self.existing(id).await?
        };
        let envelope = Envelope::new(
            event.source,
            event.event_id,
            workflow,
            correlation,
            received_at,
            event.data.clone(),
        );
        Ok((envelope, publish))
    }

    /// The recorded correlation id and receipt time of `id`.
    async fn existing(
        &self,
        id: ExecutionId,
    ) -> Result<(CorrelationId, DateTime<Utc>), AcceptError> {
        let (execution, _) = self.ledger.get_execution(id).await?;
        let correlation = CorrelationId::from_upstream(Some(&execution.correlation_id));
        Ok((correlation, execution.received_at))
    }

    async fn publish(
        &self,
        envelope: &Envelope,
        traceparent: Option<&str>,
    ) -> Result<(), AcceptError> {
        let publish =
            self.publisher
                .envelope_to_stage(envelope, Stage::Interpret, GENERATION, traceparent);
        match tokio::time::timeout(self.publish_timeout, publish).await {
            Ok(Ok(published)) => {
                tracing::debug!(
                    duplicate = published.duplicate,
                    seq = published.sequence,
                    "handed to interpret"
                );
                Ok(())
            }
            Ok(Err(err)) => Err(AcceptError::Nats(err.to_string())),
            Err(_) => Err(AcceptError::Nats(
                "publish not acknowledged in time".to_owned(),
            )),
        }
    }
}

fn transition(
    id: ExecutionId,
    from: Option<State>,
    to: State,
    detail: Option<serde_json::Value>,
) -> Transition {
    Transition {
        execution_id: id,
        from,
        to,
        stage: Stage::Ingest.as_str().to_owned(),
        generation: GENERATION.to_owned(),
        detail,
        exception_reason: None,
        final_outcome: None,
        origin: Origin::default(),
    }
}
