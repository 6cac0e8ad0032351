//! Indexing one message of the dead-letter stream, and what follows a new
//! entry: the execution moves to `DEAD_LETTERED` and owners are told.

use std::str::FromStr;

use serde_json::json;
use sluice_bus::{Bus, Delivery, ExecutionEvent, HandlerError, Outcome};
use sluice_core::metrics::DEAD_LETTERS;
use sluice_core::{CorrelationId, ExecutionId, State, headers};
use sluice_ledger::{LedgerClient, NewDeadLetter, Origin, RecordedDeadLetter, Transition};
use tonic::Code;
use tracing::Instrument as _;

use crate::entry::new_dead_letter;

/// Indexes dead letters in the ledger.
#[derive(Debug, Clone)]
pub(crate) struct Indexer {
    bus: Bus,
    ledger: LedgerClient,
}

impl Indexer {
    pub(crate) fn new(bus: Bus, ledger: LedgerClient) -> Self {
        Self { bus, ledger }
    }

    /// Records `delivery` and, the first time, follows up. Failures to reach
    /// the ledger or NATS are returned, so the bus redelivers with backoff.
    pub(crate) async fn handle(&self, delivery: Delivery) -> Result<Outcome, HandlerError> {
        let entry = match new_dead_letter(self.bus.subjects(), &delivery) {
            Ok(entry) => entry,
            Err(why) => {
                tracing::warn!(sequence = delivery.stream_sequence, %why, "dead letter not indexed");
                return Ok(Outcome::Done);
            }
        };
        let span = tracing::info_span!(
            "dead_letter",
            stage = %entry.stage,
            workflow = %entry.workflow,
            execution_id = ?entry.execution_id,
            correlation_id = %entry.correlation_id,
            stream = %entry.stream,
            stream_sequence = entry.stream_sequence,
        );
        self.index(entry, &delivery).instrument(span).await
    }

    async fn index(
        &self,
        entry: NewDeadLetter,
        delivery: &Delivery,
    ) -> Result<Outcome, HandlerError> {
        let recorded = match self.ledger.record_dead_letter(&entry).await {
            Ok(recorded) => recorded,
            Err(err) if is_code(&err, Code::InvalidArgument) => {
                tracing::error!(error = %err, "the ledger refuses this dead letter");
                return Ok(Outcome::Done);
            }
            Err(err) => return Err(err.into()),
        };
        if recorded.created {
            metrics::counter!(DEAD_LETTERS.name,
                "workflow" => entry.workflow.clone(), "stage" => entry.stage.clone(),
                "class" => entry.failure_class.as_str())
            .increment(1);
        }
        if first_report(&recorded, delivery) {
            tracing::info!(
                id = recorded.dead_letter.id,
                class = %entry.failure_class,
                reason = %entry.reason,
                "dead letter indexed"
            );
            self.follow_up(&entry, recorded.dead_letter.id).await?;
        }
        Ok(Outcome::Done)
    }

    /// Moves the execution to `DEAD_LETTERED` (when it may) and announces.
    async fn follow_up(&self, entry: &NewDeadLetter, id: i64) -> Result<(), HandlerError> {
        let Some(execution_id) = entry.execution_id else {
            // No execution (undecodable input): nothing to move, and an
            // execution event needs an execution id. The index has it.
            tracing::warn!(id, "dead letter without an execution: not announced");
            return Ok(());
        };
        let correlation = self.move_execution(entry, execution_id, id).await?;
        let event = ExecutionEvent {
            execution_id,
            correlation_id: CorrelationId::from_upstream(Some(correlation.as_str())),
            workflow: entry.workflow.clone(),
            state: State::DeadLettered,
            outcome: format!("dead-lettered at {}: {}", entry.stage, entry.reason),
            external_id: None,
            detail: json!({
                "dead_letter_id": id,
                "stage": entry.stage,
                "class": entry.failure_class.as_str(),
                "reason": entry.reason,
                "attempts": entry.attempts,
                "stream": entry.stream,
                "stream_sequence": entry.stream_sequence,
            }),
            at: chrono::Utc::now(),
        };
        self.bus.announce(&event).await?;
        Ok(())
    }

    /// Moves the execution to `DEAD_LETTERED` from wherever it is, if the
    /// state machine allows; a refusal is logged, not an error (the entry is
    /// indexed either way). Returns the correlation id to announce with.
    async fn move_execution(
        &self,
        entry: &NewDeadLetter,
        execution_id: ExecutionId,
        id: i64,
    ) -> Result<String, HandlerError> {
        let (execution, _journal) = match self.ledger.get_execution(execution_id).await {
            Ok(found) => found,
            Err(err) if is_code(&err, Code::NotFound) => {
                tracing::warn!(id, "dead letter names an unknown execution");
                return Ok(entry.correlation_id.clone());
            }
            Err(err) => return Err(err.into()),
        };
        let correlation = if entry.correlation_id.is_empty() {
            execution.correlation_id.clone()
        } else {
            entry.correlation_id.clone()
        };
        let Ok(from) = State::from_str(&execution.state) else {
            tracing::warn!(state = %execution.state, "execution in an unknown state: not moved");
            return Ok(correlation);
        };
        if from == State::DeadLettered {
            return Ok(correlation);
        }
        if !from.can_transition_to(State::DeadLettered) {
            tracing::warn!(%from, "execution cannot be dead-lettered from its state: not moved");
            return Ok(correlation);
        }
        let transition = Transition {
            execution_id,
            from: Some(from),
            to: State::DeadLettered,
            stage: entry.stage.clone(),
            generation: entry
                .headers
                .get(headers::GENERATION)
                .and_then(|v| v.first())
                .cloned()
                .unwrap_or_default(),
            detail: Some(json!({ "dead_letter_id": id, "reason": entry.reason })),
            exception_reason: Some(entry.reason.clone()),
            final_outcome: None,
            origin: Origin::default(),
        };
        match self.ledger.record_transition(&transition).await {
            Ok(_) => {}
            Err(err) if is_code(&err, Code::FailedPrecondition) => {
                tracing::warn!(%from, error = %err, "the ledger refused DEAD_LETTERED");
            }
            Err(err) => return Err(err.into()),
        }
        Ok(correlation)
    }
}

/// Whether this message is the one that created the entry: new now, or new
/// on an earlier delivery of this same message whose follow-up may not have
/// finished (the follow-up is safe to repeat). A second path's copy of the
/// same original is not.
fn first_report(recorded: &RecordedDeadLetter, delivery: &Delivery) -> bool {
    let entry = &recorded.dead_letter;
    recorded.created
        || (entry.dlq_stream == delivery.stream && entry.dlq_sequence == delivery.stream_sequence)
}

fn is_code(err: &sluice_ledger::Error, code: Code) -> bool {
    matches!(err, sluice_ledger::Error::Status(status) if status.code() == code)
}
