//! `POST /reviews/{id}/approve`: approve as understood (no corrections yet)
//! and resume the same execution at the execute stage with generation
//! `review:<id>`, as `sluice review approve` does. The execute stage's
//! idempotency key and the message's `Nats-Msg-Id` make a second resume
//! harmless, so approving an item already approved resumes it again: the
//! way out when NATS failed after the decision.

use axum::extract::{Form, Path, State};
use axum::response::Redirect;
use sluice_core::pipeline::Verdict;
use sluice_core::{Envelope, Stage};
use sluice_ledger::{Decision, ReviewDecision, ReviewItem, ReviewStatus};

use crate::auth::SignedIn;
use crate::error::{Error, Result};
use crate::pages::item::DecisionForm;
use crate::state::AppState;

/// Whether the item carries an understood request the executor can resume.
pub fn resumable(item: &ReviewItem) -> bool {
    envelope(item).is_ok()
}

fn envelope(item: &ReviewItem) -> Result<Envelope> {
    let envelope: Envelope = serde_json::from_value(item.handoff["envelope"].clone())
        .map_err(|_| Error::Conflict(not_resumable(item)))?;
    if envelope.interpretation.is_none() {
        return Err(Error::Conflict(not_resumable(item)));
    }
    Ok(envelope)
}

fn not_resumable(item: &ReviewItem) -> String {
    format!(
        "review item {} stopped before the request was understood, so there is nothing to resume; reject or escalate it",
        item.id
    )
}

/// `POST /reviews/{id}/approve`.
pub async fn approve(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<i64>,
    Form(input): Form<DecisionForm>,
) -> Result<Redirect> {
    let reason = input.checked(&signed_in)?;
    let session = &signed_in.session;
    let (item, _) = session.ledger.get_review_item(id).await?;
    let mut envelope = envelope(&item)?;
    // Executions resume from HUMAN_APPROVED, which the executor enters from
    // a review verdict.
    if let Some(decision) = envelope.decision.as_mut() {
        decision.verdict = Verdict::Review;
    }
    let item = if item.status == ReviewStatus::Approved {
        item
    } else {
        let decision = Decision {
            id,
            decision: ReviewDecision::Approve,
            reason,
            corrections: None,
        };
        session.ledger.decide_review(&decision).await?.item
    };
    state
        .bus
        .publisher()
        .envelope_to_stage(&envelope, Stage::Execute, &item.resume_generation(), None)
        .await
        .map_err(|e| Error::Resume(e.to_string()))?;
    tracing::info!(item = id, operator = %session.name, "review approved and resumed");
    Ok(Redirect::to(&format!("/reviews/{id}")))
}
