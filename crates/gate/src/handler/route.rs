//! Routing a recorded decision: each step is idempotent, so a redelivery
//! replays them safely.

use serde_json::{Value, json};
use sluice_bus::observe::escalation;
use sluice_bus::{ExecutionEvent, HandlerError, Outcome, PendingRequest};
use sluice_core::pipeline::GateDecision;
use sluice_core::{Envelope, Stage, State};
use sluice_ledger::{NewReviewItem, ReviewKind};

use super::{Ctx, Gate, refused, transition};
use crate::rules::{Evaluation, Route};
use crate::{handoff, template};

impl Gate {
    pub(super) async fn route(
        &self,
        mut ctx: Ctx<'_>,
        state: State,
        evaluation: Evaluation,
    ) -> Result<Outcome, HandlerError> {
        let Evaluation { decision, route } = evaluation;
        tracing::info!(route = ?route, summary = %decision.summary, "gate decided");
        ctx.envelope.decision = Some(decision.clone());
        match route {
            Route::Auto => self.auto(&ctx).await,
            Route::Review | Route::Exception => self.review(&ctx, &decision, route).await,
            Route::Clarify => self.clarify(&ctx, &decision, state).await,
            Route::Reject => self.reject(&ctx, &decision).await,
            Route::Pause => Ok(Outcome::retry()),
        }
    }

    async fn auto(&self, ctx: &Ctx<'_>) -> Result<Outcome, HandlerError> {
        let t = transition(ctx, State::GateDecided, State::AutoActionPending, None);
        if let Some(stop) = self.record(ctx, ctx.decided.as_ref(), &t).await? {
            return Ok(stop);
        }
        self.publish(ctx, Stage::Execute).await
    }

    async fn review(
        &self,
        ctx: &Ctx<'_>,
        decision: &GateDecision,
        route: Route,
    ) -> Result<Outcome, HandlerError> {
        let interpretation = ctx
            .envelope
            .interpretation
            .as_ref()
            .ok_or("no interpretation")?;
        let handoff = handoff::context(&ctx.envelope, interpretation, decision, route);
        let to = if route == Route::Exception {
            State::NeedsReview
        } else {
            State::HumanReviewPending
        };
        let mut t = transition(
            ctx,
            State::GateDecided,
            to,
            Some(json!({ "handoff": handoff })),
        );
        t.exception_reason = Some(decision.summary.clone());
        if let Some(stop) = self.record(ctx, ctx.decided.as_ref(), &t).await? {
            return Ok(stop);
        }
        if self.open_review_item(ctx, to, &handoff).await? {
            escalation(Stage::Gate, &ctx.envelope.workflow, review_reason(decision));
        }
        self.announce(ctx, to, &decision.summary, handoff).await
    }

    /// Opens the review item a person decides on, with the handoff and the
    /// envelope to resume from. The ledger dedupes by (execution,
    /// generation), so a redelivery finds the existing item; true when new.
    async fn open_review_item(
        &self,
        ctx: &Ctx<'_>,
        to: State,
        handoff: &Value,
    ) -> Result<bool, HandlerError> {
        let kind = if to == State::NeedsReview {
            ReviewKind::NeedsReview
        } else {
            ReviewKind::Review
        };
        let item = NewReviewItem {
            execution_id: ctx.envelope.execution_id,
            generation: ctx.generation.clone(),
            kind,
            handoff: handoff::with_envelope(handoff, &ctx.envelope)?,
            sla_due_at: ctx.policy.spec.review_due(chrono::Utc::now()),
        };
        Ok(self.inner.ledger.create_review_item(&item).await?.created)
    }

    async fn clarify(
        &self,
        ctx: &Ctx<'_>,
        decision: &GateDecision,
        state: State,
    ) -> Result<Outcome, HandlerError> {
        let workflow = &ctx.envelope.workflow;
        let partial = partial_contract(&ctx.envelope, &decision.missing);
        let key = ctx
            .policy
            .spec
            .conversation_key
            .as_deref()
            .and_then(|t| template::render(t, &partial));
        // The decision is recorded on its own first: only the replica whose
        // decision it is may park its question.
        if let Some(decided) = &ctx.decided {
            match self.inner.ledger.record_transition(decided).await {
                Ok(done) if done.applied => self.observe_decision(ctx),
                // Decided concurrently: the redelivery follows the recorded one.
                Ok(_) => return Ok(Outcome::retry()),
                Err(e) if refused(&e) => return Ok(Outcome::retry()),
                Err(e) => return Err(e.into()),
            }
        }
        // Park only before the terminal transition: once it is recorded, the
        // user may already have answered and closed the conversation, and a
        // redelivery must not resurrect the old question.
        if matches!(state, State::OutputValidated | State::GateDecided) {
            match &key {
                Some(key) => {
                    let pending = PendingRequest {
                        execution_id: ctx.envelope.execution_id,
                        contract: partial.clone(),
                        missing: decision.missing.clone(),
                        asked_at: self.inner.clock.now(),
                    };
                    self.inner
                        .conversations
                        .park(workflow, key, &pending)
                        .await?;
                }
                None => tracing::warn!("no conversation key: the answer will start afresh"),
            }
        }
        let detail = json!({ "missing": decision.missing, "conversation_key": key });
        let t = transition(
            ctx,
            State::GateDecided,
            State::ClarificationRequested,
            Some(detail.clone()),
        );
        if let Some(stop) = self.record(ctx, None, &t).await? {
            return Ok(stop);
        }
        self.announce(
            ctx,
            State::ClarificationRequested,
            &decision.summary,
            detail,
        )
        .await?;
        self.publish(ctx, Stage::Notify).await
    }

    async fn reject(
        &self,
        ctx: &Ctx<'_>,
        decision: &GateDecision,
    ) -> Result<Outcome, HandlerError> {
        let mut t = transition(ctx, State::GateDecided, State::Closed, None);
        t.final_outcome = Some(format!("rejected: {}", decision.summary));
        if let Some(stop) = self.record(ctx, ctx.decided.as_ref(), &t).await? {
            return Ok(stop);
        }
        let detail = serde_json::to_value(&decision.rules)?;
        self.announce(
            ctx,
            State::Closed,
            &decision.summary,
            json!({ "rules": detail }),
        )
        .await
    }

    async fn publish(&self, ctx: &Ctx<'_>, stage: Stage) -> Result<Outcome, HandlerError> {
        self.inner
            .bus
            .publisher()
            .envelope_to_stage(
                &ctx.envelope,
                stage,
                &ctx.generation,
                ctx.traceparent.as_deref(),
            )
            .await?;
        Ok(Outcome::Done)
    }

    async fn announce(
        &self,
        ctx: &Ctx<'_>,
        state: State,
        outcome: &str,
        detail: Value,
    ) -> Result<Outcome, HandlerError> {
        let mut event = ExecutionEvent::new(&ctx.envelope, state, outcome);
        event.detail = detail;
        self.inner.bus.announce(&event).await?;
        Ok(Outcome::Done)
    }
}

/// Why the gate stopped for a person: the first rule that did not pass
/// (`party_size`, `confidence`, `irreversible`, `kill_switch`…).
fn review_reason(decision: &GateDecision) -> &str {
    decision
        .rules
        .iter()
        .find(|r| !r.passed)
        .map_or("review", |r| r.rule.as_str())
}

/// The contract without the fields the user is asked for again, so a bad
/// value (a past date) is not carried into the next message.
fn partial_contract(envelope: &Envelope, missing: &[String]) -> Value {
    let mut contract = envelope
        .interpretation
        .as_ref()
        .map_or(Value::Null, |i| i.contract.clone());
    if let Some(fields) = contract.as_object_mut() {
        fields.retain(|name, value| !value.is_null() && !missing.contains(name));
    }
    contract
}
