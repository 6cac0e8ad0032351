//! The execute stage's handler: decode, enter `EXECUTING`, run each action,
//! record the outcome and hand over to `notify`.

use std::time::Duration;

use serde_json::json;
use sluice_bus::{Delivery, HandlerError, Outcome};
use sluice_core::metrics::EXECUTOR_ACTIONS;
use sluice_core::pipeline::{ActionRecord, Verdict};
use sluice_core::workflow::RetryPolicy;
use sluice_core::{Envelope, FailureClass, Stage, State, headers};
use tracing::Instrument as _;

use crate::action::{Action, CRASHED, Step};
use crate::compensate;
use crate::journal::{Entry, Journal};
use crate::render;
use crate::service::Inner;
use crate::verify;

/// Failures the bus turns into a retry with backoff.
pub(crate) type StageError = HandlerError;

pub(crate) async fn handle(inner: &Inner, delivery: Delivery) -> Result<Outcome, StageError> {
    let envelope = match delivery.envelope() {
        Ok(envelope) => envelope,
        Err(reason) => return Ok(Outcome::dead_letter(FailureClass::Permanent, reason)),
    };
    let span = tracing::info_span!(
        "execute",
        execution_id = %envelope.execution_id,
        correlation_id = %envelope.correlation_id,
        workflow = %envelope.workflow,
        stage = "execute",
    );
    execute(inner, envelope, &delivery).instrument(span).await
}

async fn execute(
    inner: &Inner,
    mut envelope: Envelope,
    delivery: &Delivery,
) -> Result<Outcome, StageError> {
    let Some(workflow) = inner.workflows.get(&envelope.workflow) else {
        let reason = format!("unknown workflow {:?}", envelope.workflow);
        return Ok(Outcome::dead_letter(FailureClass::Permanent, reason));
    };
    if let Some(held) = switched_off(inner, workflow).await? {
        // Before EXECUTING (or undoing): the execution stays where it is and
        // the guard pauses this consumer until the switch is turned on.
        tracing::warn!(switch = %held, "kill switch off: effect held");
        inner.guard.nudge();
        return Ok(Outcome::retry_after(SWITCH_RECHECK));
    }
    let generation = delivery
        .header(headers::GENERATION)
        .unwrap_or("0")
        .to_owned();
    if envelope.decision.is_none() {
        // Only a revert hands over an execution without a decision: the
        // ledger has moved it to COMPENSATING and journalled what to undo.
        let mut journal = Journal::new(&inner.ledger, &envelope, &generation);
        return compensate::resume(inner, &mut journal, workflow, delivery).await;
    }
    let from = match envelope.decision.as_ref().map(|d| d.verdict) {
        Some(Verdict::Auto) => State::AutoActionPending,
        Some(Verdict::Review) => State::HumanApproved,
        other => {
            let reason = format!("execute stage got a non-executable decision {other:?}");
            return Ok(Outcome::dead_letter(FailureClass::Permanent, reason));
        }
    };
    let Some(contract) = envelope.interpretation.as_ref().map(|i| i.contract.clone()) else {
        let reason = "execute stage got an envelope without an interpretation".to_owned();
        return Ok(Outcome::dead_letter(FailureClass::Permanent, reason));
    };
    let mut journal = Journal::new(&inner.ledger, &envelope, &generation);
    match journal.enter(from).await? {
        Entry::Stale(state) => {
            tracing::info!(%state, "execution already moved on; stale delivery");
            return Ok(Outcome::Done);
        }
        Entry::NotYet(state) => {
            tracing::info!(%state, expected = %from, "execution not there yet; retrying");
            return Ok(Outcome::retry());
        }
        Entry::Compensating => {
            return compensate::resume(inner, &mut journal, workflow, delivery).await;
        }
        Entry::Executing | Entry::AlreadyCompleted => {}
    }
    let fields = render::fields(&contract, &envelope.data);
    let mut records = Vec::new();
    let mut asked = Vec::new();
    for (spec, settings) in workflow.spec.actions.iter().zip(&workflow.settings) {
        let rendered = render::template(&spec.idempotency_key, &fields).and_then(|key| {
            let body = render::body(settings.body.as_ref(), &contract, &fields)?;
            Ok((key, body))
        });
        let (key, body) = match rendered {
            Ok(rendered) => rendered,
            Err(reason) => {
                let reason = format!("action {}: {reason}", spec.name);
                let detail = json!({ "action": spec.name, "what": "render", "reason": reason });
                journal
                    .send_to_review(inner, false, &reason, detail)
                    .await?;
                return Ok(Outcome::Done);
            }
        };
        let fingerprint = render::fingerprint(&body);
        let action = Action {
            envelope: &envelope,
            spec,
            settings,
            key,
            body,
            fingerprint,
            reverts: None,
        };
        let step = action.run(inner).await?;
        metrics::counter!(EXECUTOR_ACTIONS.name,
            "workflow" => envelope.workflow.clone(), "action" => spec.name.clone(), "step" => step_name(&step))
        .increment(1);
        match step {
            Step::Done(record) => {
                asked.push(verify::Asked {
                    spec,
                    settings,
                    body: action.body.clone(),
                    record: record.clone(),
                });
                records.push(record);
            }
            Step::Wait(after) => return Ok(Outcome::retry_after(after)),
            Step::Temporary { reason, exhausted } => {
                let detail = json!({ "action": spec.name, "key": action.key, "reason": reason });
                return temporary(
                    &mut journal,
                    delivery,
                    &spec.retry,
                    reason,
                    exhausted,
                    detail,
                )
                .await;
            }
            Step::Unknown { reason, detail } => {
                journal.send_to_review(inner, true, &reason, detail).await?;
                return Ok(Outcome::Done);
            }
            Step::Permanent { reason, detail } if compensate::can_undo(workflow, &records) => {
                let failure = (reason.as_str(), detail);
                return compensate::saga(
                    inner,
                    &mut journal,
                    workflow,
                    delivery,
                    &records,
                    failure,
                )
                .await;
            }
            Step::Permanent { reason, detail } => {
                journal
                    .send_to_review(inner, false, &reason, detail)
                    .await?;
                return Ok(Outcome::Done);
            }
            Step::Crashed => {
                return Err(CRASHED.into());
            }
        }
    }
    // A redelivery after the check finds the execution VERIFIED: straight
    // on to the notification.
    if journal.state != State::Verified {
        // `ACTION_COMPLETED` is journalled together with the check's
        // verdict, once the effects are read back: one ledger call for
        // both. Until then the keys' stored results stand for it (a
        // redelivery finds them and checks again).
        let completed = (!matches!(
            journal.state,
            State::ActionCompleted | State::VerificationFailed
        ))
        .then(|| completed_detail(&records));
        match verify::settle(inner, &mut journal, &asked, completed).await? {
            verify::Checked::Held => {}
            verify::Checked::Stopped => return Ok(Outcome::Done),
            verify::Checked::Unreadable(reason) => {
                tracing::warn!(%reason, "cannot verify yet; asking again");
                let verifying = workflow.spec.actions.iter().find(|a| a.verify.is_some());
                let policy = verifying.map(|a| a.retry.clone()).unwrap_or_default();
                return Ok(Outcome::retry_after(backoff(&policy, delivery.delivered)));
            }
        }
    }
    envelope.actions.extend(records);
    let traceparent = delivery.header(headers::TRACEPARENT);
    inner
        .bus
        .publisher()
        .envelope_to_stage(&envelope, Stage::Notify, &generation, traceparent)
        .await?;
    Ok(Outcome::Done)
}

/// How soon a message held by a switch is offered again; the guard's pause
/// keeps it in the stream meanwhile.
const SWITCH_RECHECK: Duration = Duration::from_secs(1);

/// The first switch that is off for the workflow or any of its actions.
async fn switched_off(
    inner: &Inner,
    workflow: &crate::service::Workflow,
) -> Result<Option<String>, StageError> {
    let name = &workflow.spec.name;
    if let Some(held) = inner.switches.off(name, None).await? {
        return Ok(Some(held.key));
    }
    for action in &workflow.spec.actions {
        if let Some(held) = inner.switches.off(name, Some(&action.name)).await? {
            return Ok(Some(held.key));
        }
    }
    Ok(None)
}

/// `FAILED_RETRYABLE`, then a nak with the policy's backoff, or a dead
/// letter when the attempts are used up (or this is the last delivery).
async fn temporary(
    journal: &mut Journal<'_>,
    delivery: &Delivery,
    policy: &RetryPolicy,
    reason: String,
    exhausted: bool,
    detail: serde_json::Value,
) -> Result<Outcome, StageError> {
    journal
        .step(State::FailedRetryable, Some(detail), Some(reason.clone()))
        .await?;
    if exhausted || delivery.is_final_delivery() {
        tracing::warn!(%reason, "attempts exhausted; dead-lettering");
        return Ok(Outcome::dead_letter(FailureClass::Temporary, reason));
    }
    Ok(Outcome::retry_after(backoff(policy, delivery.delivered)))
}

/// Full jitter over `initial · 2^(delivered−1)`, capped at the policy's max.
pub(crate) fn backoff(policy: &RetryPolicy, delivered: u64) -> Duration {
    let shift = u32::try_from(delivered.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(20);
    let ceiling = policy
        .initial_delay()
        .saturating_mul(1 << shift)
        .min(policy.max_delay());
    let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(fastrand::u64(0..=ms))
}

fn completed_detail(records: &[ActionRecord]) -> serde_json::Value {
    let actions: Vec<_> = records
        .iter()
        .map(|r| {
            json!({ "action": r.action, "key": r.key, "external_id": r.external_id,
                    "prevented_duplicate": r.prevented_duplicate })
        })
        .collect();
    let first = records.first();
    json!({
        "key": first.map(|r| r.key.clone()),
        "external_id": first.and_then(|r| r.external_id.clone()),
        "prevented_duplicate": first.is_some_and(|r| r.prevented_duplicate),
        "actions": actions,
    })
}

fn step_name(step: &Step) -> &'static str {
    match step {
        Step::Done(r) if r.prevented_duplicate => "prevented_duplicate",
        Step::Done(_) => "done",
        Step::Wait(_) => "in_progress",
        Step::Temporary { .. } => "temporary",
        Step::Unknown { .. } => "unknown",
        Step::Permanent { .. } => "permanent",
        Step::Crashed => "crashed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_the_policy_ceiling() {
        let p = RetryPolicy {
            max_attempts: 5,
            initial_delay_ms: 100,
            max_delay_ms: 1_000,
        };
        for delivered in 1..30 {
            assert!(backoff(&p, delivered) <= Duration::from_millis(1_000));
        }
        assert!(backoff(&p, 1) <= Duration::from_millis(100));
    }
}
