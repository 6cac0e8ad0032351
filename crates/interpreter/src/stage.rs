//! The interpret stage handler: ledger-stored interpretation first, then
//! the transitions, then the hand-off to the gate.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sluice_bus::observe::escalation;
use sluice_bus::{Bus, Delivery, ExecutionEvent, HandlerError, Outcome};
use sluice_core::pipeline::Interpretation;
use sluice_core::{Envelope, FailureClass, Stage, State, headers};
use sluice_ledger::{LedgerClient, NewReviewItem, Origin, ReviewKind, Transition};
use tracing::Instrument as _;

use crate::store::{self, Stored};
use crate::workflow::LoadedWorkflow;

/// Shared by every delivery of the stage.
#[derive(Debug)]
pub struct StageContext {
    /// NATS.
    pub bus: Bus,
    /// The ledger.
    pub ledger: LedgerClient,
    /// Loaded workflows by name.
    pub workflows: BTreeMap<String, LoadedWorkflow>,
    /// Who claims `<execution>:interpret` keys (this replica).
    pub owner: String,
}

/// The stage handler: clone it into `run_stage`.
#[derive(Debug, Clone)]
pub struct InterpretHandler {
    ctx: Arc<StageContext>,
}

impl InterpretHandler {
    /// A handler over `ctx`.
    pub fn new(ctx: StageContext) -> Self {
        Self { ctx: Arc::new(ctx) }
    }

    /// Handles one delivery of the interpret stage.
    pub async fn handle(&self, delivery: Delivery) -> Result<Outcome, HandlerError> {
        let envelope = match delivery.envelope() {
            Ok(e) => e,
            Err(reason) => return Ok(Outcome::dead_letter(FailureClass::Permanent, reason)),
        };
        let Some(workflow) = self.ctx.workflows.get(&envelope.workflow) else {
            let reason = format!(
                "workflow {:?} is not loaded by this interpreter",
                envelope.workflow
            );
            return Ok(Outcome::dead_letter(FailureClass::Permanent, reason));
        };
        let span = tracing::info_span!(
            "interpret",
            execution_id = %envelope.execution_id,
            correlation_id = %envelope.correlation_id.as_str(),
            workflow = %envelope.workflow,
            stage = "interpret",
        );
        let pass = Pass {
            execution_id: envelope.execution_id,
            ctx: &self.ctx,
            workflow,
            generation: delivery
                .header(headers::GENERATION)
                .unwrap_or("0")
                .to_owned(),
            traceparent: delivery.header(headers::TRACEPARENT).map(str::to_owned),
        };
        Ok(pass.run(envelope).instrument(span).await)
    }
}

/// One delivery's work.
pub(crate) struct Pass<'a> {
    pub(crate) execution_id: sluice_core::ExecutionId,
    pub(crate) ctx: &'a StageContext,
    pub(crate) workflow: &'a LoadedWorkflow,
    pub(crate) generation: String,
    pub(crate) traceparent: Option<String>,
}

impl Pass<'_> {
    async fn run(&self, mut envelope: Envelope) -> Outcome {
        let state = match self.ctx.ledger.get_execution(envelope.execution_id).await {
            Ok((execution, _)) => match execution.state.parse::<State>() {
                Ok(state) => state,
                Err(e) => return Outcome::dead_letter(FailureClass::Unknown, e.to_string()),
            },
            Err(sluice_ledger::Error::Status(s)) if s.code() == tonic::Code::NotFound => {
                return Outcome::dead_letter(
                    FailureClass::Permanent,
                    "the ledger has no such execution",
                );
            }
            Err(e) => return retry("read execution", &e),
        };
        let at = match state {
            State::Validated | State::Retried | State::Replayed => {
                let detail = self.request_detail();
                if let Err(outcome) = self
                    .transition(state, State::ModelRequested, detail, None)
                    .await
                {
                    return outcome;
                }
                State::ModelRequested
            }
            State::ModelRequested | State::ModelCompleted | State::OutputValidated => state,
            other => {
                tracing::debug!(
                    state = other.as_str(),
                    "execution has moved on; stale delivery"
                );
                return Outcome::Done;
            }
        };
        let stored = match store::stored_or_compute(self, &envelope).await {
            Ok(stored) => stored,
            Err(store::Stop::Retry(outcome)) => return outcome,
            Err(store::Stop::Review(reason)) => return self.review(&envelope, at, &reason).await,
        };
        let Stored {
            interpretation,
            reused,
        } = stored;
        let validated = json!({
            "confidence": interpretation.confidence,
            "proposed_action": interpretation.proposed_action,
            "carried_over": interpretation.carried_over,
            "fallback_reason": interpretation.fallback_reason,
        });
        // The answer was validated before it was stored, so both moves are
        // known now: one round trip, one transaction.
        let moves = match at {
            State::ModelRequested => vec![
                (
                    State::ModelCompleted,
                    completed_detail(&interpretation, reused),
                ),
                (State::OutputValidated, validated),
            ],
            State::ModelCompleted => vec![(State::OutputValidated, validated)],
            _ => Vec::new(),
        };
        if let Err(outcome) = self.path(at, moves).await {
            return outcome;
        }
        envelope.interpretation = Some(interpretation);
        let published = self
            .ctx
            .bus
            .publisher()
            .envelope_to_stage(
                &envelope,
                Stage::Gate,
                &self.generation,
                self.traceparent.as_deref(),
            )
            .await;
        match published {
            Ok(_) => Outcome::Done,
            Err(e) => retry("publish to the gate", &e),
        }
    }

    fn request_detail(&self) -> Value {
        let w = self.workflow;
        json!({
            "backend": w.primary.name(),
            "model": w.primary.model(),
            "prompt_version": w.prompt.version,
            "prompt_sha256": w.prompt.sha256,
        })
    }

    /// Records `from → to`; a refusal means another delivery moved the
    /// execution on, so this one is retried and will find it stale.
    pub(crate) async fn transition(
        &self,
        from: State,
        to: State,
        detail: Value,
        exception_reason: Option<String>,
    ) -> Result<(), Outcome> {
        let t = self.move_of(from, to, detail, exception_reason);
        self.ctx
            .ledger
            .record_transition(&t)
            .await
            .map(|_| ())
            .map_err(|e| retry("record transition", &e))
    }

    /// Records `moves` in order from `from`, all in one call (a path), with
    /// [`Pass::transition`]'s refusal rule. Nothing to do when empty.
    async fn path(&self, from: State, moves: Vec<(State, Value)>) -> Result<(), Outcome> {
        let mut at = from;
        let path: Vec<Transition> = moves
            .into_iter()
            .map(|(to, detail)| {
                let t = self.move_of(at, to, detail, None);
                at = to;
                t
            })
            .collect();
        if path.is_empty() {
            return Ok(());
        }
        self.ctx
            .ledger
            .record_path(&path, sluice_ledger::Repeat::Answer)
            .await
            .map(|_| ())
            .map_err(|e| retry("record transitions", &e))
    }

    fn move_of(
        &self,
        from: State,
        to: State,
        detail: Value,
        exception_reason: Option<String>,
    ) -> Transition {
        Transition {
            execution_id: self.execution_id,
            from: Some(from),
            to,
            stage: Stage::Interpret.as_str().to_owned(),
            generation: self.generation.clone(),
            detail: Some(detail),
            exception_reason,
            final_outcome: None,
            origin: Origin::default(),
        }
    }

    /// Stops for a person: NEEDS_REVIEW, announced, nothing to the gate.
    async fn review(&self, envelope: &Envelope, at: State, reason: &str) -> Outcome {
        let detail = json!({ "stage": "interpret", "reason": reason });
        if let Err(outcome) = self
            .transition(
                at,
                State::NeedsReview,
                detail.clone(),
                Some(reason.to_owned()),
            )
            .await
        {
            return outcome;
        }
        match self.open_review_item(envelope, reason).await {
            Ok(true) => escalation(Stage::Interpret, &envelope.workflow, "uninterpretable"),
            Ok(false) => {}
            Err(outcome) => return outcome,
        }
        let mut event = ExecutionEvent::new(
            envelope,
            State::NeedsReview,
            format!("interpretation needs review: {reason}"),
        );
        event.detail = detail;
        match self.ctx.bus.announce(&event).await {
            Ok(_) => Outcome::Done,
            Err(e) => retry("announce review", &e),
        }
    }

    /// Opens the review item a person decides on; the ledger dedupes by
    /// (execution, generation), so a redelivery finds the existing one.
    /// True when it is new.
    async fn open_review_item(&self, envelope: &Envelope, reason: &str) -> Result<bool, Outcome> {
        let handoff = json!({
            "requested": envelope.data,
            "collected": null,
            "actions_attempted": [],
            "systems_returned": [],
            "why_stopped": format!("the request could not be interpreted: {reason}"),
            "decision_needed": "handle the request by hand and reject (close), or escalate",
            "envelope": envelope,
        });
        let item = NewReviewItem {
            execution_id: self.execution_id,
            generation: self.generation.clone(),
            kind: ReviewKind::NeedsReview,
            handoff,
            sla_due_at: None,
        };
        self.ctx
            .ledger
            .create_review_item(&item)
            .await
            .map(|created| created.created)
            .map_err(|e| retry("open review item", &e))
    }
}

fn completed_detail(i: &Interpretation, reused: bool) -> Value {
    let mut detail = json!({
        "backend": i.backend,
        "model": i.model,
        "prompt_version": i.prompt_version,
        "prompt_sha256": i.prompt_sha256,
        "latency_ms": i.latency_ms,
        "usage": i.usage,
        "fallback_reason": i.fallback_reason,
        "reused_stored_interpretation": reused,
    });
    // What the model was shown besides the message, and how fresh it was.
    if !i.context.is_empty() {
        detail["context"] = json!(i.context);
    }
    detail
}

/// A temporary failure: logged without payload, retried by the bus.
pub(crate) fn retry(what: &str, err: &dyn std::fmt::Display) -> Outcome {
    tracing::warn!(error = %err, "{what} failed; will retry");
    Outcome::retry_after(Duration::from_millis(200))
}
