//! The execution's state moves made by the executor, with what it knows.

use serde_json::{Value, json};
use sluice_bus::ExecutionEvent;
use sluice_bus::observe::escalation;
use sluice_core::{Envelope, Stage, State};
use sluice_ledger::{LedgerClient, NewReviewItem, Origin, Repeat, ReviewKind, Transition};
use tonic_code::is_refusal;

use crate::service::Inner;

/// How the executor found the execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// It is `EXECUTING` (just moved there, or already there).
    Executing,
    /// Its actions already completed: the ledger will hand back the results.
    AlreadyCompleted,
    /// It moved on elsewhere: this delivery is stale.
    Stale(State),
    /// It has not yet reached the state the hand-off promised (the gate's or
    /// a reviewer's move is not visible yet): try again, never drop it.
    NotYet(State),
    /// Its effects are being undone: carry on with that.
    Compensating,
}

/// Moves one execution, remembering where it is.
pub(crate) struct Journal<'a> {
    ledger: &'a LedgerClient,
    envelope: &'a Envelope,
    generation: &'a str,
    pub(crate) state: State,
}

impl<'a> Journal<'a> {
    pub(crate) fn new(
        ledger: &'a LedgerClient,
        envelope: &'a Envelope,
        generation: &'a str,
    ) -> Self {
        Self {
            ledger,
            envelope,
            generation,
            state: State::Executing,
        }
    }

    /// The execution this journal moves.
    pub(crate) fn execution_id(&self) -> sluice_core::ExecutionId {
        self.envelope.execution_id
    }

    /// The envelope it was built from.
    pub(crate) fn envelope(&self) -> &'a Envelope {
        self.envelope
    }

    /// `from → EXECUTING`; a redelivery finds it there already, a retry comes
    /// back through `FAILED_RETRYABLE → RETRIED`.
    pub(crate) async fn enter(&mut self, from: State) -> Result<Entry, sluice_ledger::Error> {
        self.state = from;
        if self.step(State::Executing, None, None).await? {
            return Ok(Entry::Executing);
        }
        let (execution, _) = self
            .ledger
            .get_execution(self.envelope.execution_id)
            .await?;
        let current: State = execution
            .state
            .parse()
            .map_err(|_| sluice_ledger::Error::Malformed(execution.state.clone()))?;
        self.state = current;
        match current {
            State::Executing => Ok(Entry::Executing),
            // The effect is done; what follows it (the check, the hand-over
            // to the notifier) is redone or resumed.
            State::ActionCompleted | State::Verified | State::VerificationFailed => {
                Ok(Entry::AlreadyCompleted)
            }
            State::Compensating => Ok(Entry::Compensating),
            State::FailedRetryable => {
                let moved = self.step(State::Retried, None, None).await?
                    && self.step(State::Executing, None, None).await?;
                Ok(if moved {
                    Entry::Executing
                } else {
                    Entry::Stale(self.state)
                })
            }
            State::Retried | State::Replayed => {
                let moved = self.step(State::Executing, None, None).await?;
                Ok(if moved {
                    Entry::Executing
                } else {
                    Entry::Stale(self.state)
                })
            }
            // An early delivery is not a late one: acking it would lose the
            // execution for good.
            State::Received
            | State::Validated
            | State::ModelRequested
            | State::ModelCompleted
            | State::OutputValidated
            | State::GateDecided => Ok(Entry::NotYet(current)),
            State::HumanReviewPending if from == State::HumanApproved => Ok(Entry::NotYet(current)),
            other => Ok(Entry::Stale(other)),
        }
    }

    /// Moves from the current state to `to`. `Ok(false)` when the ledger
    /// refuses because the execution is elsewhere (a stale delivery).
    pub(crate) async fn step(
        &mut self,
        to: State,
        detail: Option<Value>,
        reason: Option<String>,
    ) -> Result<bool, sluice_ledger::Error> {
        self.along([(to, detail, reason)]).await
    }

    /// Moves from the current state along `moves` (each a state with its
    /// journal detail and reason) in one ledger call, all or none; a first
    /// move already made (a redelivery after it) is skipped. `Ok(false)`
    /// when the ledger refuses because the execution is elsewhere.
    pub(crate) async fn along(
        &mut self,
        moves: impl IntoIterator<Item = (State, Option<Value>, Option<String>)>,
    ) -> Result<bool, sluice_ledger::Error> {
        let mut path = Vec::new();
        let mut from = self.state;
        for (to, detail, exception_reason) in moves {
            if path.is_empty() && to == from {
                continue;
            }
            path.push(Transition {
                execution_id: self.envelope.execution_id,
                from: Some(from),
                to,
                stage: "execute".to_owned(),
                generation: self.generation.to_owned(),
                detail,
                exception_reason,
                final_outcome: None,
                origin: Origin::default(),
            });
            from = to;
        }
        if path.is_empty() {
            // Already there: nothing to journal.
            return Ok(true);
        }
        match self.ledger.record_path(&path, Repeat::Answer).await {
            Ok(outcome) => {
                self.state = outcome.state;
                Ok(outcome.state == from)
            }
            Err(err) if is_refusal(&err) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// `→ NEEDS_REVIEW` (through `EFFECT_UNKNOWN` when the effect may have
    /// happened) and the announcement reviewers and upstreams subscribe to.
    pub(crate) async fn send_to_review(
        &mut self,
        inner: &Inner,
        unknown: bool,
        reason: &str,
        detail: Value,
    ) -> Result<(), crate::handler::StageError> {
        if unknown && self.state == State::Executing {
            self.step(
                State::EffectUnknown,
                Some(detail.clone()),
                Some(reason.to_owned()),
            )
            .await?;
        }
        let reached = self
            .step(
                State::NeedsReview,
                Some(detail.clone()),
                Some(reason.to_owned()),
            )
            .await?;
        if !reached {
            tracing::info!(state = %self.state, "execution moved on; not sending to review");
            return Ok(());
        }
        let due = inner
            .workflows
            .get(&self.envelope.workflow)
            .and_then(|w| w.spec.review_due(chrono::Utc::now()));
        if self.open_review_item(unknown, reason, &detail, due).await? {
            // What stopped it, as the action recorded it (`target_refused`,
            // `conflict`, `ambiguous_answer`, `ledger_unknown`…).
            let why = detail.get("what").and_then(Value::as_str);
            let why = why.unwrap_or(if unknown {
                "effect_unknown"
            } else {
                "permanent"
            });
            escalation(Stage::Execute, &self.envelope.workflow, why);
        }
        let mut event = ExecutionEvent::new(self.envelope, State::NeedsReview, reason);
        event.detail = detail;
        inner.bus.announce(&event).await?;
        Ok(())
    }
}

impl Journal<'_> {
    /// Opens the review item a person decides on, with the handoff and the
    /// envelope to resume from; deduped by (execution, generation), so a
    /// redelivery finds the existing item. True when it is new.
    async fn open_review_item(
        &self,
        unknown: bool,
        reason: &str,
        detail: &Value,
        sla_due_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<bool, crate::handler::StageError> {
        let item = NewReviewItem {
            execution_id: self.envelope.execution_id,
            generation: self.generation.to_owned(),
            kind: ReviewKind::NeedsReview,
            handoff: handoff(self.envelope, unknown, reason, detail)?,
            sla_due_at,
        };
        Ok(self.ledger.create_review_item(&item).await?.created)
    }
}

/// What a reviewer needs: what the user wanted, what was collected, what was
/// attempted and returned, why the executor stopped, what decision is
/// missing, and the envelope an approval resumes from.
fn handoff(
    envelope: &Envelope,
    unknown: bool,
    reason: &str,
    detail: &Value,
) -> Result<Value, serde_json::Error> {
    let interpretation = envelope.interpretation.as_ref();
    let decision_needed = if unknown {
        "check the target system: if the effect happened, reject (close); if not, approve to retry with the same key"
    } else {
        "correct the request and approve, or reject"
    };
    Ok(json!({
        "requested": envelope.data,
        "collected": interpretation.map(|i| &i.contract),
        "proposed_action": interpretation.and_then(|i| i.proposed_action.as_ref()),
        "actions_attempted": envelope.actions.iter().map(|a| &a.action).collect::<Vec<_>>(),
        "systems_returned": envelope.actions.iter().map(|a| &a.response).collect::<Vec<_>>(),
        "stopped_at": detail,
        "why_stopped": reason,
        "effect_unknown": unknown,
        "decision_needed": decision_needed,
        "envelope": serde_json::to_value(envelope)?,
    }))
}

mod tonic_code {
    /// Whether the ledger refused a transition (FAILED_PRECONDITION): the
    /// execution is not where this delivery thought.
    pub(super) fn is_refusal(err: &sluice_ledger::Error) -> bool {
        match err {
            sluice_ledger::Error::Status(status) => {
                status.code() == tonic::Code::FailedPrecondition
            }
            sluice_ledger::Error::IllegalTransition(_) => true,
            _ => false,
        }
    }
}
