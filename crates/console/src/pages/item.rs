//! `GET /reviews/{id}` (the handoff, the decision if any, the audit trail,
//! the decision forms) and the decisions `POST /reviews/{id}/reject` and
//! `POST /reviews/{id}/escalate`.

use axum::extract::{Form, Path, State};
use axum::response::{Html, Redirect};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use sluice_core::workflow::Owners;
use sluice_ledger::{AuditRecord, Decision, ReviewDecision, ReviewItem, ReviewStatus};
use sluice_ops::review;

use crate::auth::SignedIn;
use crate::error::{Error, Result};
use crate::pages::corrections::{self, Attempt};
use crate::pages::{handoff, layout};
use crate::session::Session;
use crate::state::AppState;

/// A reject or escalate form.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// The reason of a decision form, once the CSRF token, the role and the
/// reason itself are checked; nothing is done otherwise.
pub fn checked_reason(signed_in: &SignedIn, csrf: &str, reason: &str) -> Result<String> {
    signed_in.check_csrf(csrf)?;
    if !signed_in.session.may_decide() {
        return Err(Error::Forbidden(
            "only reviewers and admins decide review items",
        ));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::BadRequest("a decision needs a reason"));
    }
    Ok(reason.to_owned())
}

/// `GET /reviews/{id}`.
pub async fn show(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<i64>,
) -> Result<Html<String>> {
    let session = &signed_in.session;
    let (item, audit) = session.ledger.get_review_item(id).await?;
    Ok(Html(
        render(&state, session, &item, &audit, None).into_string(),
    ))
}

/// The item page; `attempt` is a refused approval shown again.
pub fn render(
    state: &AppState,
    session: &Session,
    item: &ReviewItem,
    audit: &[AuditRecord],
    attempt: Option<&Attempt>,
) -> Markup {
    let title = format!("Review item #{}", item.id);
    let body = html! {
        p { a href="/reviews" { "← Review queue" } }
        h1 { (title) }
        (summary(item, &state.catalog.owners()))
        (handoff::render(&item.handoff))
        (decision(item))
        @if session.may_decide() {
            (forms(state, session, item, attempt))
        }
        (trail(audit))
    };
    layout::page(&title, Some(session), body)
}

/// `POST /reviews/{id}/reject`.
pub async fn reject(
    signed_in: SignedIn,
    Path(id): Path<i64>,
    Form(input): Form<DecisionForm>,
) -> Result<Redirect> {
    decide(signed_in, id, ReviewDecision::Reject, input).await
}

/// `POST /reviews/{id}/escalate`.
pub async fn escalate(
    signed_in: SignedIn,
    Path(id): Path<i64>,
    Form(input): Form<DecisionForm>,
) -> Result<Redirect> {
    decide(signed_in, id, ReviewDecision::Escalate, input).await
}

async fn decide(
    signed_in: SignedIn,
    id: i64,
    decision: ReviewDecision,
    input: DecisionForm,
) -> Result<Redirect> {
    let reason = checked_reason(&signed_in, &input.csrf, &input.reason)?;
    let session = &signed_in.session;
    let decided = session
        .ledger
        .decide_review(&Decision {
            id,
            decision,
            reason,
            corrections: None,
        })
        .await?;
    tracing::info!(
        item = id,
        decision = decision.as_str(),
        operator = %session.name,
        state = ?decided.state,
        "review decided"
    );
    Ok(Redirect::to(&format!("/reviews/{id}")))
}

fn summary(item: &ReviewItem, owners: &Owners) -> Markup {
    let owner = owners.get(&item.workflow);
    html! {
        table {
            caption { "The item" }
            tbody {
                tr { th scope="row" { "Status" } td { (item.status.as_str()) } }
                tr { th scope="row" { "Workflow" } td { (item.workflow) } }
                tr { th scope="row" { "Owner" } td {
                    @match owner {
                        Some(o) => {
                            (o.owner)
                            @if let Some(contact) = &o.contact { " — " (contact) }
                        }
                        None => "none declared",
                    }
                } }
                tr { th scope="row" { "Execution" } td { code { (item.execution_id) } } }
                tr { th scope="row" { "Correlation id" } td { code { (item.correlation_id) } } }
                tr { th scope="row" { "Opened" } td { (layout::instant(item.created_at)) } }
                tr { th scope="row" { "Due" } td {
                    (item.sla_due_at.map_or_else(|| "no SLA".to_owned(), layout::instant))
                } }
            }
        }
    }
}

fn decision(item: &ReviewItem) -> Markup {
    let Some(by) = &item.decided_by else {
        return html! {};
    };
    html! {
        section aria-labelledby="decided" {
            h2 id="decided" { "Decision" }
            p {
                strong { (item.status.as_str()) } " by " strong { (by) }
                @if let Some(at) = item.decided_at { " at " (layout::instant(at)) }
            }
            @if let Some(reason) = &item.decision_reason {
                p { "Reason: " (reason) }
            }
        }
    }
}

fn forms(
    state: &AppState,
    session: &Session,
    item: &ReviewItem,
    attempt: Option<&Attempt>,
) -> Markup {
    let id = item.id;
    let envelope = review::resumable(item).ok();
    let form = |verb: &str, label: &str, help: &str, extra: Markup| {
        let field = format!("{verb}-reason");
        let reason = attempt
            .filter(|_| verb == "approve")
            .map_or("", |a| a.reason.as_str());
        html! {
            form class="decision" method="post" action={ "/reviews/" (id) "/" (verb) } {
                (layout::csrf_field(session))
                (extra)
                label for=(field) { (label) ": why" }
                p { (help) }
                textarea id=(field) name="reason" rows="2" required { (reason) }
                button type="submit" { (label) }
            }
        }
    };
    if item.status == ReviewStatus::Approved && envelope.is_some() {
        return html! {
            section aria-labelledby="decide" {
                h2 id="decide" { "Resume" }
                (form("approve", "Resume the execution",
                    "Only needed if resuming failed after the approval; a second resume never repeats the action.",
                    html! {}))
            }
        };
    }
    if item.status != ReviewStatus::Open {
        return html! {};
    }
    let corrections = match (&envelope, state.catalog.workflow(&item.workflow)) {
        (Some(envelope), Ok(workflow)) => {
            let understood = envelope
                .interpretation
                .as_ref()
                .map_or(Value::Null, |i| i.contract.clone());
            corrections::fields(&workflow, &understood, attempt)
        }
        (Some(_), Err(why)) => html! {
            p class="warning" { "Corrections are not available: " (why) ". Approving runs the request as understood." }
        },
        (None, _) => html! {},
    };
    html! {
        section aria-labelledby="decide" {
            h2 id="decide" { "Decide" }
            @if envelope.is_some() {
                (form("approve", "Approve",
                    "Runs the proposed action once, with your corrections if any; they are checked by the workflow's rules first. Say why.",
                    corrections))
            } @else {
                p { "This request was not understood, so it cannot be approved here: reject or escalate it." }
            }
            (form("reject", "Reject", "Closes the execution; nothing is done. Say why.", html! {}))
            (form("escalate", "Escalate", "Hands the case to someone outside Sluice. Say why.", html! {}))
        }
    }
}

/// An audit trail as a table, oldest first (also a switch's).
pub fn trail(audit: &[AuditRecord]) -> Markup {
    if audit.is_empty() {
        return html! {};
    }
    html! {
        table {
            caption { "Audit trail" }
            thead { tr {
                th scope="col" { "When" }
                th scope="col" { "Who" }
                th scope="col" { "What" }
                th scope="col" { "Reason" }
                th scope="col" { "Result" }
            } }
            tbody {
                @for row in audit {
                    tr {
                        td { (layout::instant(row.at)) }
                        td { (row.actor) " (" (row.role) ")" }
                        td { (row.action) }
                        td { (row.reason) }
                        td { (row.result) }
                    }
                }
            }
        }
    }
}
