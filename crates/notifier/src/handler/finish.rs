//! The end of a notification: the final transitions and announcements.

use serde_json::json;
use sluice_bus::observe::escalation;
use sluice_bus::{ExecutionEvent, HandlerError, Outcome};
use sluice_core::{Envelope, Stage, State};
use sluice_ledger::{NewReviewItem, ReviewKind, Transition};

use super::{Ctx, Kind, Notifier};

/// The moves that end a sent confirmation, `ACTION_COMPLETED` (or
/// `VERIFIED`) `→ NOTIFIED → COMPLETED`; none for a clarification, which
/// is already terminal.
pub(super) fn finishing(ctx: &Ctx) -> Vec<Transition> {
    if ctx.kind == Kind::Clarification {
        return Vec::new();
    }
    let first = transition(ctx, ctx.after, State::Notified);
    let mut done = transition(ctx, State::Notified, State::Completed);
    done.final_outcome = Some("completed".to_owned());
    done.detail = Some(json!({ "external_id": external_id(&ctx.envelope) }));
    vec![first, done]
}

impl Notifier {
    /// Sent (now or before): `ACTION_COMPLETED` (or `VERIFIED`) `→ NOTIFIED →
    /// COMPLETED` and
    /// announce, for confirmations; clarifications are already terminal.
    pub(super) async fn delivered(&self, ctx: &Ctx) -> Result<Outcome, HandlerError> {
        let path = finishing(ctx);
        let [first, done] = path.as_slice() else {
            return Ok(Outcome::Done);
        };
        // Both moves in one round trip. A redelivery may find the execution
        // already COMPLETED, where the path is refused as a whole: then the
        // moves go one by one (the first refused, the second a no-op), so
        // the announcement a crash may have cut off still goes out.
        if !self.moved_along(&path).await? {
            self.moved(first).await?;
            if !self.moved(done).await? {
                return Ok(Outcome::Done);
            }
        }
        self.completed(ctx).await
    }

    /// Announces the execution `COMPLETED`.
    pub(super) async fn completed(&self, ctx: &Ctx) -> Result<Outcome, HandlerError> {
        let mut event = ExecutionEvent::new(&ctx.envelope, State::Completed, "completed");
        event.external_id = external_id(&ctx.envelope);
        self.inner.bus.announce(&event).await?;
        Ok(Outcome::Done)
    }

    /// Could not be sent: `ACTION_COMPLETED → NOTIFY_FAILED`, effect kept.
    pub(super) async fn failed(&self, ctx: &Ctx, reason: &str) -> Result<Outcome, HandlerError> {
        tracing::warn!(%reason, "notification failed for good");
        if ctx.kind == Kind::Clarification {
            return Ok(Outcome::Done);
        }
        let outcome = "effect kept; the confirmation could not be sent";
        self.stop_at(ctx, State::NotifyFailed, reason, outcome)
            .await
    }

    /// Nobody may guess whether the message went out: `NEEDS_REVIEW`.
    pub(super) async fn unknown(&self, ctx: &Ctx, reason: &str) -> Result<Outcome, HandlerError> {
        tracing::warn!(%reason, "notification outcome unknown");
        if ctx.kind == Kind::Clarification {
            return Ok(Outcome::Done);
        }
        let outcome = "confirmation may or may not have been sent";
        self.stop_at(ctx, State::NeedsReview, reason, outcome).await
    }

    async fn stop_at(
        &self,
        ctx: &Ctx,
        to: State,
        reason: &str,
        outcome: &str,
    ) -> Result<Outcome, HandlerError> {
        let mut t = transition(ctx, ctx.after, to);
        t.exception_reason = Some(reason.to_owned());
        t.final_outcome = (to == State::NotifyFailed).then(|| outcome.to_owned());
        t.detail = Some(json!({ "reason": reason, "key": ctx.key }));
        if !self.moved(&t).await? {
            return Ok(Outcome::Done);
        }
        if to == State::NeedsReview && self.open_review_item(ctx, reason, outcome).await? {
            escalation(
                Stage::Notify,
                &ctx.envelope.workflow,
                "notification_unconfirmed",
            );
        }
        let mut event = ExecutionEvent::new(&ctx.envelope, to, outcome);
        event.external_id = external_id(&ctx.envelope);
        event.detail = json!({ "reason": reason });
        self.inner.bus.announce(&event).await?;
        Ok(Outcome::Done)
    }

    /// Opens the review item a person decides on; the ledger dedupes by
    /// (execution, generation), so a redelivery finds the existing one.
    /// True when it is new.
    async fn open_review_item(
        &self,
        ctx: &Ctx,
        reason: &str,
        outcome: &str,
    ) -> Result<bool, HandlerError> {
        let envelope = &ctx.envelope;
        let handoff = json!({
            "requested": envelope.data,
            "collected": envelope.interpretation.as_ref().map(|i| &i.contract),
            "actions_attempted": envelope.actions.iter().map(|a| &a.action).collect::<Vec<_>>(),
            "systems_returned": envelope.actions.iter().map(|a| &a.response).collect::<Vec<_>>(),
            "why_stopped": format!("{outcome}: {reason}"),
            "decision_needed": "check whether the user received the confirmation; reject (close) if so, else escalate",
            "envelope": serde_json::to_value(envelope)?,
        });
        let item = NewReviewItem {
            execution_id: envelope.execution_id,
            generation: ctx.generation.clone(),
            kind: ReviewKind::NeedsReview,
            handoff,
            sla_due_at: None,
        };
        Ok(self.inner.ledger.create_review_item(&item).await?.created)
    }

    /// Applies `path` in one call; `false` when the ledger refuses it.
    async fn moved_along(&self, path: &[Transition]) -> Result<bool, HandlerError> {
        match self
            .inner
            .ledger
            .record_path(path, sluice_ledger::Repeat::Answer)
            .await
        {
            Ok(_) => Ok(true),
            Err(sluice_ledger::Error::Status(s)) if s.code() == tonic::Code::FailedPrecondition => {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Applies `t`; `false` when the ledger refuses (the execution is elsewhere).
    async fn moved(&self, t: &Transition) -> Result<bool, HandlerError> {
        match self.inner.ledger.record_transition(t).await {
            Ok(_) => Ok(true),
            Err(sluice_ledger::Error::Status(s)) if s.code() == tonic::Code::FailedPrecondition => {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }
}

pub(super) fn external_id(envelope: &Envelope) -> Option<String> {
    envelope.actions.iter().find_map(|a| a.external_id.clone())
}

fn transition(ctx: &Ctx, from: State, to: State) -> Transition {
    Transition {
        execution_id: ctx.envelope.execution_id,
        from: Some(from),
        to,
        stage: "notify".to_owned(),
        generation: ctx.generation.clone(),
        detail: None,
        exception_reason: None,
        final_outcome: None,
        origin: Default::default(),
    }
}
