//! Outcome verification: after the effect, each action that declares
//! `[actions.verify]` has its record read back from the target by the
//! external id it answered with, and the declared fields compared with what
//! was asked. `ACTION_COMPLETED → VERIFIED` when they all hold;
//! `ACTION_COMPLETED → VERIFICATION_FAILED → NEEDS_REVIEW` with the
//! difference when one does not, so a target that silently changed the
//! request is never confirmed to the user. A target that cannot be read
//! right now is asked again on redelivery; the effect is not repeated (its
//! key is completed). `ACTION_COMPLETED` and the verdict are journalled in
//! one ledger call, after the read-back.
//!
//! A review stop at the execute stage counts as a failure for the
//! workflow's breaker, so a target that keeps altering requests trips it.

use serde_json::{Map, Value, json};
use sluice_core::State;
use sluice_core::metrics::VERIFICATIONS;
use sluice_core::pipeline::ActionRecord;
use sluice_core::workflow::ActionSpec;

use crate::handler::StageError;
use crate::journal::Journal;
use crate::service::Inner;
use crate::settings::ActionSettings;

/// One completed action to check: what was asked and what it answered.
pub(crate) struct Asked<'a> {
    pub(crate) spec: &'a ActionSpec,
    pub(crate) settings: &'a ActionSettings,
    pub(crate) body: Value,
    pub(crate) record: ActionRecord,
}

/// How the check went.
pub(crate) enum Checked {
    /// Every declared field holds (or nothing declares a verification).
    Held,
    /// Stopped for review: a difference, or no record to read.
    Stopped,
    /// The target could not be read; ask again later.
    Unreadable(String),
}

/// Checks every action that declares a verification and journals the
/// result from `ACTION_COMPLETED` (or, on a redelivery, `VERIFICATION_FAILED`).
/// `completed` is the `ACTION_COMPLETED` detail when that move is still to
/// be made: it goes with the result in one call, or alone before a target
/// that cannot be read is asked again.
pub(crate) async fn settle(
    inner: &Inner,
    journal: &mut Journal<'_>,
    asked: &[Asked<'_>],
    completed: Option<Value>,
) -> Result<Checked, StageError> {
    let workflow = journal.envelope().workflow.clone();
    let mut held = Vec::new();
    let mut differences = Vec::new();
    for a in asked.iter().filter(|a| a.spec.verify.is_some()) {
        let result = check(inner, a).await;
        let label = match &result {
            Ok(None) => "held",
            Ok(Some(_)) => "differs",
            Err(_) => "unreadable",
        };
        metrics::counter!(VERIFICATIONS.name, "workflow" => workflow.clone(),
            "action" => a.spec.name.clone(), "result" => label)
        .increment(1);
        match result {
            Ok(None) => held.push(json!({ "action": a.spec.name,
                "external_id": a.record.external_id })),
            Ok(Some(difference)) => differences.push(difference),
            Err(reason) => {
                // The effect is journalled before it is checked again.
                if let Some(detail) = completed
                    && !journal
                        .step(State::ActionCompleted, Some(detail), None)
                        .await?
                {
                    return Ok(moved_on(journal));
                }
                return Ok(Checked::Unreadable(reason));
            }
        }
    }
    let completed = completed.map(|detail| (State::ActionCompleted, Some(detail), None));
    if differences.is_empty() && journal.state != State::VerificationFailed {
        let verified =
            (!held.is_empty()).then(|| (State::Verified, Some(json!({ "verified": held })), None));
        if !journal.along(completed.into_iter().chain(verified)).await? {
            return Ok(moved_on(journal));
        }
        return Ok(Checked::Held);
    }
    let reason = differences
        .iter()
        .filter_map(|d| d["summary"].as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let reason = if reason.is_empty() {
        "verification failed earlier".to_owned()
    } else {
        format!("verification failed: {reason}")
    };
    let detail = json!({ "what": "verification_failed", "differences": differences });
    let failed = (
        State::VerificationFailed,
        Some(detail.clone()),
        Some(reason.clone()),
    );
    journal.along(completed.into_iter().chain([failed])).await?;
    tracing::warn!(%reason, "the target does not hold what was asked");
    journal
        .send_to_review(inner, false, &reason, detail)
        .await?;
    Ok(Checked::Stopped)
}

fn moved_on(journal: &Journal<'_>) -> Checked {
    tracing::info!(state = %journal.state, "execution moved on; not notifying");
    Checked::Stopped
}

/// `Ok(None)` when the record holds every declared field, `Ok(Some(the
/// difference))` when it does not (or is missing), `Err` when unreadable.
async fn check(inner: &Inner, a: &Asked<'_>) -> Result<Option<Value>, String> {
    let Some(verify) = &a.spec.verify else {
        return Ok(None);
    };
    let Some(external_id) = a.record.external_id.as_deref() else {
        let summary = format!("{}: the target answered no id to read back", a.spec.name);
        return Ok(Some(json!({ "action": a.spec.name, "summary": summary })));
    };
    let Some(found) = inner.connectors.read_back(a.settings, external_id).await? else {
        let summary = format!("{}: the target has no record {external_id}", a.spec.name);
        return Ok(Some(
            json!({ "action": a.spec.name, "external_id": external_id,
            "summary": summary }),
        ));
    };
    let mut fields = Map::new();
    let mut said = Vec::new();
    for field in &verify.fields {
        let wanted = a.body.get(field).unwrap_or(&Value::Null);
        let got = found.get(field).unwrap_or(&Value::Null);
        if wanted != got {
            said.push(format!("{field} asked {wanted}, found {got}"));
            fields.insert(field.clone(), json!({ "asked": wanted, "found": got }));
        }
    }
    if fields.is_empty() {
        return Ok(None);
    }
    let summary = format!("{} {external_id}: {}", a.spec.name, said.join(", "));
    Ok(Some(
        json!({ "action": a.spec.name, "external_id": external_id,
        "fields": fields, "summary": summary }),
    ))
}
