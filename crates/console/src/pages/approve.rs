//! `POST /reviews/{id}/approve`: approve, with any corrections typed into
//! the form, and resume the same execution at the execute stage with
//! generation `review:<id>` ([`sluice_ops::review`], as `sluice review
//! approve` does). Corrections are checked by the contract and the gate's
//! rules first; a refusal shows the form again with each reason next to its
//! field and decides nothing. Approving an item already approved resumes it
//! again, harmlessly: the way out when NATS failed after the decision.

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::Value;
use sluice_ops::review::{self, Approval, ApproveError};

use crate::auth::SignedIn;
use crate::error::Result;
use crate::pages::corrections;
use crate::pages::item;
use crate::state::AppState;

/// `POST /reviews/{id}/approve`.
pub async fn approve(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<i64>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    };
    let reason = item::checked_reason(&signed_in, field("csrf"), field("reason"))?;
    let session = &signed_in.session;
    let (item, audit) = session.ledger.get_review_item(id).await?;
    let envelope = review::resumable(&item)?;
    let understood = envelope
        .interpretation
        .as_ref()
        .map_or(Value::Null, |i| i.contract.clone());
    let workflow = state.catalog.workflow(&item.workflow).ok();
    let (corrections, mut attempt) = match &workflow {
        Some(workflow) => corrections::parse(workflow, &understood, &form),
        None => Default::default(),
    };
    attempt.reason = reason.clone();
    if attempt.errors.is_empty() {
        let approval = Approval {
            id,
            reason,
            corrections,
        };
        let outcome = match review::prepare(&session.ledger, &state.catalog, approval).await {
            Ok(prepared) => prepared.commit(&session.ledger, &state.bus).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(approved) => {
                tracing::info!(item = id, operator = %session.name, state = %approved.state,
                    "review approved and resumed");
                return Ok(Redirect::to(&format!("/reviews/{id}")).into_response());
            }
            Err(ApproveError::Invalid(errors)) => attempt.errors = errors,
            Err(other) => return Err(other.into()),
        }
    }
    let page = item::render(&state, session, &item, &audit, Some(&attempt));
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.into_string())).into_response())
}
