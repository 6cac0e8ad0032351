//! Compensation: undoing completed effects, latest first, each under the
//! ledger as `<key>:compensate` so it happens once.
//!
//! Two things start one. A later action of a saga failing for good: the
//! executor moves `EXECUTING → COMPENSATING` itself. A person's `sluice
//! executions revert`: the ledger moves `COMPLETED → COMPENSATING` and the
//! CLI hands the execution to this stage with a decision-less envelope.
//! Either way the `COMPENSATING` journal entry lists the effects to undo, so
//! a redelivery, a second request or a crash resumes from the same list, and
//! compensations already done answer `COMPLETED` from the ledger.

use serde_json::{Value, json};
use sluice_bus::{Delivery, Outcome};
use sluice_core::pipeline::ActionRecord;
use sluice_core::{FailureClass, State};
use sluice_ledger::Undo;

use crate::action::{Action, CRASHED, Step};
use crate::handler::{StageError, backoff};
use crate::journal::Journal;
use crate::render;
use crate::service::{Inner, Workflow};

/// Whether every effect in `records` declares a compensation: only then can
/// a failed saga be undone rather than handed to a person as it is.
pub(crate) fn can_undo(workflow: &Workflow, records: &[ActionRecord]) -> bool {
    !records.is_empty()
        && records.iter().all(|r| {
            workflow
                .spec
                .actions
                .iter()
                .any(|a| a.name == r.action && a.compensation.is_some())
        })
}

/// A later action failed for good: undo the completed ones.
pub(crate) async fn saga(
    inner: &Inner,
    journal: &mut Journal<'_>,
    workflow: &Workflow,
    delivery: &Delivery,
    records: &[ActionRecord],
    failure: (&str, Value),
) -> Result<Outcome, StageError> {
    let (reason, detail) = failure;
    let undo: Vec<Undo> = records
        .iter()
        .rev()
        .map(|r| Undo {
            action: r.action.clone(),
            key: r.key.clone(),
        })
        .collect();
    tracing::warn!(%reason, effects = undo.len(), "saga failed; compensating the completed actions");
    let detail = json!({ "undo": undo, "reason": reason, "failure": detail,
                         "requested_by": inner.owner });
    if !journal
        .step(State::Compensating, Some(detail), Some(reason.to_owned()))
        .await?
    {
        tracing::info!(state = %journal.state, "execution moved on; not compensating");
        return Ok(Outcome::Done);
    }
    run(inner, journal, workflow, delivery, &undo).await
}

/// The execution is (or should be) `COMPENSATING`: carry on from its journal.
pub(crate) async fn resume(
    inner: &Inner,
    journal: &mut Journal<'_>,
    workflow: &Workflow,
    delivery: &Delivery,
) -> Result<Outcome, StageError> {
    let (execution, entries) = inner.ledger.get_execution(journal.execution_id()).await?;
    match execution.state.parse::<State>() {
        Ok(State::Compensating) => {}
        Ok(State::Compensated) => {
            tracing::info!("already compensated; nothing to do");
            return Ok(Outcome::Done);
        }
        _ => {
            let reason = format!(
                "execute stage got an envelope without a decision for an execution in {}, \
                 which is not being compensated",
                execution.state
            );
            return Ok(Outcome::dead_letter(FailureClass::Permanent, reason));
        }
    }
    journal.state = State::Compensating;
    let undo = entries
        .iter()
        .rev()
        .find(|e| e.to_state == State::Compensating.as_str())
        .and_then(|e| e.detail.as_ref())
        .map(Undo::list_of)
        .unwrap_or_default();
    run(inner, journal, workflow, delivery, &undo).await
}

async fn run(
    inner: &Inner,
    journal: &mut Journal<'_>,
    workflow: &Workflow,
    delivery: &Delivery,
    undo: &[Undo],
) -> Result<Outcome, StageError> {
    let envelope = journal.envelope();
    let mut undone = Vec::new();
    for item in undo {
        let Some(index) = workflow
            .spec
            .actions
            .iter()
            .position(|a| a.name == item.action && a.compensation.is_some())
        else {
            let reason = format!("action {:?} declares no compensation", item.action);
            let detail = json!({ "action": item.action, "key": item.key, "what": "no_compensation",
                                 "reason": reason });
            journal
                .send_to_review(inner, false, &reason, detail)
                .await?;
            return Ok(Outcome::Done);
        };
        let body = json!({ "reverts": item.key });
        let action = Action {
            envelope,
            spec: &workflow.spec.actions[index],
            settings: &workflow.settings[index],
            key: item.compensation_key(),
            fingerprint: render::fingerprint(&body),
            body,
            reverts: Some(item.key.clone()),
        };
        match action.run(inner).await? {
            Step::Done(record) => undone.push(record),
            Step::Wait(after) => return Ok(Outcome::retry_after(after)),
            Step::Temporary { reason, exhausted } => {
                if !exhausted && !delivery.is_final_delivery() {
                    // Stays COMPENSATING: the redelivery resumes here.
                    return Ok(Outcome::retry_after(backoff(
                        &action.spec.retry,
                        delivery.delivered,
                    )));
                }
                let detail = json!({ "action": item.action, "key": action.key,
                                     "what": "compensation_exhausted", "reason": reason });
                let reason = format!("compensation of {} gave up: {reason}", item.action);
                journal
                    .send_to_review(inner, false, &reason, detail)
                    .await?;
                return Ok(Outcome::Done);
            }
            Step::Unknown { reason, detail } | Step::Permanent { reason, detail } => {
                let reason = format!("compensation of {} failed: {reason}", item.action);
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
    let compensated: Vec<Value> = undone
        .iter()
        .map(|r| {
            json!({ "action": r.action, "key": r.key, "restored": r.response["body"]["applied"],
                         "prevented_duplicate": r.prevented_duplicate })
        })
        .collect();
    journal
        .step(
            State::Compensated,
            Some(json!({ "compensated": compensated })),
            None,
        )
        .await?;
    tracing::info!(effects = undone.len(), "compensated");
    Ok(Outcome::Done)
}
