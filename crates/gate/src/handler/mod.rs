//! The gate stage handler: decide once, record, route.
//!
//! Redelivery is safe at every step. The decision is made only while the
//! execution is in `OUTPUT_VALIDATED`, and `GATE_DECIDED` is journalled in
//! the same call as the route it leads to (one ledger round trip), except
//! for a clarification, whose question is parked in between. Once it is
//! journalled, a redelivery re-reads the *recorded* decision (so a clock or
//! switch change in between cannot produce a second, different one) and
//! replays the routing steps, each of which is idempotent: the ledger's
//! compare-and-set, the KV put, and publishes deduplicated by
//! `Nats-Msg-Id`. A routing transition the ledger refuses means the
//! execution has moved on (the executor or a reviewer took it): the
//! delivery is stale and acked. A decision the ledger refuses means another
//! replica decided first: the delivery is offered again, to follow that one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_bus::{
    Admission, Bus, Conversations, Delivery, GuardHandle, HandlerError, Outcome, Switches,
};
use sluice_core::metrics::{GATE_DECISIONS, GUARDRAIL_ACTIVATIONS, SPOT_CHECKS, SWITCH_CANARIES};
use sluice_core::pipeline::GateDecision;
use sluice_core::{Envelope, FailureClass, Stage, State, headers};
use sluice_ledger::{JournalEntry, LedgerClient, Repeat, Transition};
use tracing::Instrument as _;

use crate::Clock;
use crate::context::Contexts;
use crate::drift::DriftMonitor;
use crate::rules::{self, Evaluation, Facts, Policy, Route};

mod route;

/// How soon a message held by a switch is offered again. Short: the switch
/// guard pauses the consumer meanwhile, so it comes back once the switch is
/// released, not before.
const SWITCH_RECHECK: Duration = Duration::from_secs(1);

/// The gate's handler, cheap to clone into every consume loop.
#[derive(Clone)]
pub struct Gate {
    inner: Arc<Inner>,
}

struct Inner {
    bus: Bus,
    ledger: LedgerClient,
    switches: Switches,
    guard: GuardHandle,
    conversations: Conversations,
    policies: HashMap<String, Policy>,
    contexts: Contexts,
    clock: Clock,
    drift: DriftMonitor,
}

/// One delivery's execution, as the routing steps need it.
struct Ctx<'a> {
    envelope: Envelope,
    policy: &'a Policy,
    generation: String,
    traceparent: Option<String>,
    /// `GATE_DECIDED` with the decision this delivery made, still to be
    /// recorded with the first routing step; `None` when the decision was
    /// recorded before (a redelivery follows it).
    decided: Option<Transition>,
}

impl Gate {
    /// A handler over connected clients and compiled workflows.
    pub fn new(
        bus: Bus,
        ledger: LedgerClient,
        (switches, guard): (Switches, GuardHandle),
        conversations: Conversations,
        (policies, contexts): (Vec<Policy>, Contexts),
        clock: Clock,
        drift: DriftMonitor,
    ) -> Self {
        let policies = policies
            .into_iter()
            .map(|p| (p.spec.name.clone(), p))
            .collect();
        Self {
            inner: Arc::new(Inner {
                bus,
                ledger,
                switches,
                guard,
                conversations,
                policies,
                contexts,
                clock,
                drift,
            }),
        }
    }

    /// Handles one gate-stage delivery.
    pub async fn handle(&self, delivery: Delivery) -> Result<Outcome, HandlerError> {
        let envelope = match delivery.envelope() {
            Ok(envelope) => envelope,
            Err(reason) => return Ok(permanent(reason)),
        };
        let span = tracing::info_span!(
            "gate",
            execution_id = %envelope.execution_id,
            correlation_id = %envelope.correlation_id,
            workflow = %envelope.workflow,
            stage = "gate",
        );
        self.process(&delivery, envelope).instrument(span).await
    }

    async fn process(
        &self,
        delivery: &Delivery,
        envelope: Envelope,
    ) -> Result<Outcome, HandlerError> {
        let Some(policy) = self.inner.policies.get(&envelope.workflow) else {
            return Ok(permanent(format!(
                "unknown workflow {:?}",
                envelope.workflow
            )));
        };
        if envelope.interpretation.is_none() {
            return Ok(permanent(
                "envelope reached the gate without an interpretation",
            ));
        }
        let mut ctx = Ctx {
            envelope,
            policy,
            generation: delivery
                .header(headers::GENERATION)
                .unwrap_or("0")
                .to_owned(),
            traceparent: delivery.header(headers::TRACEPARENT).map(str::to_owned),
            decided: None,
        };
        let (execution, journal) = self
            .inner
            .ledger
            .get_execution(ctx.envelope.execution_id)
            .await?;
        let state: State = execution.state.parse()?;
        let evaluation = match state {
            State::OutputValidated => match self.decide(&ctx).await? {
                Ok(evaluation) => {
                    let detail = serde_json::to_value(&evaluation.decision)?;
                    ctx.decided = Some(transition(
                        &ctx,
                        State::OutputValidated,
                        State::GateDecided,
                        Some(detail),
                    ));
                    evaluation
                }
                Err(outcome) => return Ok(outcome),
            },
            State::GateDecided
            | State::AutoActionPending
            | State::HumanReviewPending
            | State::NeedsReview
            | State::ClarificationRequested
            | State::Closed => match recorded(&journal) {
                Some(decision) => {
                    let confidence = interpretation_confidence(&ctx.envelope);
                    let route = Route::of(&decision, policy, confidence);
                    Evaluation { decision, route }
                }
                None => return Ok(permanent("no recorded gate decision for this execution")),
            },
            // The interpreter records OUTPUT_VALIDATED before publishing; an
            // earlier state means its transition is not visible yet.
            s if s < State::OutputValidated => return Ok(Outcome::retry()),
            other => {
                tracing::info!(state = %other, "execution has moved on; stale gate delivery");
                return Ok(Outcome::Done);
            }
        };
        self.route(ctx, state, evaluation).await
    }

    /// Evaluates the rules. `Err(outcome)` when there is nothing to record
    /// (a switch holds the message).
    async fn decide(&self, ctx: &Ctx<'_>) -> Result<Result<Evaluation, Outcome>, HandlerError> {
        let envelope = &ctx.envelope;
        let interpretation = envelope
            .interpretation
            .as_ref()
            .ok_or("missing interpretation")?;
        let action = ctx
            .policy
            .action(interpretation)
            .filter(|a| ctx.policy.allows(a));
        let admission = self
            .inner
            .switches
            .admit(&envelope.workflow, action)
            .await?;
        if let Admission::Canary(key) = &admission {
            tracing::info!(switch = %key, "half-open switch: let through as a canary");
            metrics::counter!(SWITCH_CANARIES.name, "switch" => key.clone()).increment(1);
        }
        let switched_off = match &admission {
            Admission::Held(held) => Some(held.key.as_str()),
            Admission::Open | Admission::Canary(_) => None,
        };
        // Looked up only for a decision that could act: a switched-off
        // workflow holds or reviews regardless of what the context says.
        let gathered = if switched_off.is_none() && self.inner.contexts.declared(&envelope.workflow)
        {
            Some(
                self.inner
                    .contexts
                    .gather(&envelope.workflow, &interpretation.contract)
                    .await,
            )
        } else {
            None
        };
        let facts = Facts {
            source: &envelope.source,
            data: &envelope.data,
            interpretation,
            now: self.inner.clock.now(),
            switched_off,
            sample: rules::sample_of(envelope.execution_id),
            context: gathered.as_deref(),
        };
        let mut evaluation = rules::evaluate(ctx.policy, &facts);
        if let Some(gathered) = gathered {
            evaluation.decision.context = gathered;
        }
        if evaluation.route == Route::Pause {
            // The guard pauses this stage's consumer; the message waits.
            self.inner.guard.nudge();
            tracing::warn!(switch = ?switched_off, "kill switch off: held");
            return Ok(Err(Outcome::retry_after(SWITCH_RECHECK)));
        }
        count(&envelope.workflow, &evaluation);
        Ok(Ok(evaluation))
    }

    /// Records `t`, after this delivery's decision when it made one: the
    /// two in one call that refuses to find either already done, so a
    /// decision another replica recorded is never carried on by this one's
    /// route. `Some(outcome)` when the delivery stops here: stale (the
    /// execution moved on) or decided elsewhere (offered again, to follow
    /// the recorded decision).
    async fn record(
        &self,
        ctx: &Ctx<'_>,
        decided: Option<&Transition>,
        t: &Transition,
    ) -> Result<Option<Outcome>, HandlerError> {
        let ledger = &self.inner.ledger;
        let recorded = match decided {
            Some(decided) => {
                ledger
                    .record_path(&[decided.clone(), t.clone()], Repeat::Refuse)
                    .await
            }
            None => ledger.record_transition(t).await,
        };
        match recorded {
            Ok(_) => {
                if decided.is_some() {
                    self.observe_decision(ctx);
                }
                Ok(None)
            }
            Err(e) if refused(&e) && decided.is_some() => {
                tracing::info!("decided concurrently; following the recorded decision");
                Ok(Some(Outcome::retry()))
            }
            Err(e) if refused(&e) => {
                tracing::info!(to = %t.to, "execution has moved on; stale gate delivery");
                Ok(Some(Outcome::Done))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Counted once per decision, once it is recorded: a redelivery
    /// re-reads the recorded one and never reaches this.
    fn observe_decision(&self, ctx: &Ctx<'_>) {
        let workflow = &ctx.envelope.workflow;
        if let Some(interpretation) = &ctx.envelope.interpretation {
            self.inner
                .drift
                .observe(workflow, interpretation, Instant::now());
        }
        let spot_checked = ctx
            .envelope
            .decision
            .as_ref()
            .is_some_and(|d| d.rules.iter().any(|r| r.rule == "spot_check" && !r.passed));
        if spot_checked {
            metrics::counter!(SPOT_CHECKS.name, "workflow" => workflow.clone()).increment(1);
        }
    }
}

fn transition(ctx: &Ctx<'_>, from: State, to: State, detail: Option<Value>) -> Transition {
    Transition {
        execution_id: ctx.envelope.execution_id,
        from: Some(from),
        to,
        stage: Stage::Gate.as_str().to_owned(),
        generation: ctx.generation.clone(),
        detail,
        exception_reason: None,
        final_outcome: None,
        origin: Default::default(),
    }
}

/// The ledger refused a compare-and-set: the execution is elsewhere.
fn refused(err: &sluice_ledger::Error) -> bool {
    matches!(err, sluice_ledger::Error::Status(s) if s.code() == tonic::Code::FailedPrecondition)
}

/// The most recent `GATE_DECIDED` journal entry's decision.
fn recorded(journal: &[JournalEntry]) -> Option<GateDecision> {
    journal
        .iter()
        .rev()
        .find(|e| e.to_state == State::GateDecided.as_str())
        .and_then(|e| serde_json::from_value(e.detail.clone()?).ok())
}

fn interpretation_confidence(envelope: &Envelope) -> f64 {
    envelope
        .interpretation
        .as_ref()
        .map_or(f64::NAN, |i| i.confidence)
}

fn permanent(reason: impl Into<String>) -> Outcome {
    Outcome::dead_letter(FailureClass::Permanent, reason)
}

fn count(workflow: &str, evaluation: &Evaluation) {
    let route = format!("{:?}", evaluation.route).to_ascii_lowercase();
    metrics::counter!(GATE_DECISIONS.name, "workflow" => workflow.to_owned(), "route" => route)
        .increment(1);
    for rule in evaluation.decision.rules.iter().filter(|r| !r.passed) {
        metrics::counter!(
            GUARDRAIL_ACTIVATIONS.name,
            "workflow" => workflow.to_owned(),
            "rule" => rule.rule.clone()
        )
        .increment(1);
    }
}
