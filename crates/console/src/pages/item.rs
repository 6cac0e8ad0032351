//! `GET /reviews/{id}` (the handoff, the decision if any, the audit trail,
//! the decision forms) and the decisions `POST /reviews/{id}/reject` and
//! `POST /reviews/{id}/escalate`.

use axum::extract::{Form, Path};
use axum::response::{Html, Redirect};
use maud::{Markup, html};
use serde::Deserialize;
use sluice_ledger::{AuditRecord, Decision, ReviewDecision, ReviewItem, ReviewStatus};

use crate::auth::SignedIn;
use crate::error::{Error, Result};
use crate::pages::{approve, handoff, layout};
use crate::session::Session;

/// A decision form.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

impl DecisionForm {
    /// The reason, once the CSRF token, the role and the reason itself are
    /// checked; nothing is done otherwise.
    pub fn checked(self, signed_in: &SignedIn) -> Result<String> {
        signed_in.check_csrf(&self.csrf)?;
        if !signed_in.session.may_decide() {
            return Err(Error::Forbidden(
                "only reviewers and admins decide review items",
            ));
        }
        let reason = self.reason.trim();
        if reason.is_empty() {
            return Err(Error::BadRequest("a decision needs a reason"));
        }
        Ok(reason.to_owned())
    }
}

/// `GET /reviews/{id}`.
pub async fn show(signed_in: SignedIn, Path(id): Path<i64>) -> Result<Html<String>> {
    let session = &signed_in.session;
    let (item, audit) = session.ledger.get_review_item(id).await?;
    let title = format!("Review item #{}", item.id);
    let body = html! {
        p { a href="/reviews" { "← Review queue" } }
        h1 { (title) }
        (summary(&item))
        (handoff::render(&item.handoff))
        (decision(&item))
        @if session.may_decide() {
            (forms(session, &item))
        }
        (trail(&audit))
    };
    Ok(Html(
        layout::page(&title, Some(session), body).into_string(),
    ))
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
    signed_in.check_csrf(&input.csrf)?;
    let session = &signed_in.session;
    if !session.may_decide() {
        return Err(Error::Forbidden(
            "only reviewers and admins decide review items",
        ));
    }
    let reason = input.reason.trim();
    if reason.is_empty() {
        return Err(Error::BadRequest("a decision needs a reason"));
    }
    let decided = session
        .ledger
        .decide_review(&Decision {
            id,
            decision,
            reason: reason.to_owned(),
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

fn summary(item: &ReviewItem) -> Markup {
    html! {
        table {
            caption { "The item" }
            tbody {
                tr { th scope="row" { "Status" } td { (item.status.as_str()) } }
                tr { th scope="row" { "Workflow" } td { (item.workflow) } }
                tr { th scope="row" { "Execution" } td { code { (item.execution_id) } } }
                tr { th scope="row" { "Correlation id" } td { code { (item.correlation_id) } } }
                tr { th scope="row" { "Opened" } td { (instant(item.created_at)) } }
                tr { th scope="row" { "Due" } td {
                    (item.sla_due_at.map_or_else(|| "no SLA".to_owned(), instant))
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
                @if let Some(at) = item.decided_at { " at " (instant(at)) }
            }
            @if let Some(reason) = &item.decision_reason {
                p { "Reason: " (reason) }
            }
        }
    }
}

fn forms(session: &Session, item: &ReviewItem) -> Markup {
    let id = item.id;
    let resumable = approve::resumable(item);
    let form = |verb: &str, label: &str, help: &str| {
        let field = format!("{verb}-reason");
        html! {
            form class="decision" method="post" action={ "/reviews/" (id) "/" (verb) } {
                (layout::csrf_field(session))
                label for=(field) { (label) }
                p { (help) }
                textarea id=(field) name="reason" rows="2" required {}
                button type="submit" { (label) }
            }
        }
    };
    if item.status == ReviewStatus::Approved && resumable {
        return html! {
            section aria-labelledby="decide" {
                h2 id="decide" { "Resume" }
                (form("approve", "Resume the execution",
                    "Only needed if resuming failed after the approval; a second resume never repeats the action."))
            }
        };
    }
    if item.status != ReviewStatus::Open {
        return html! {};
    }
    html! {
        section aria-labelledby="decide" {
            h2 id="decide" { "Decide" }
            @if resumable {
                (form("approve", "Approve", "Runs the proposed action as understood above, once. Say why."))
            } @else {
                p { "This request was not understood, so it cannot be approved here: reject or escalate it." }
            }
            (form("reject", "Reject", "Closes the execution; nothing is done. Say why."))
            (form("escalate", "Escalate", "Hands the case to someone outside Sluice. Say why."))
            p { "Correcting fields before approving is not in the console yet: use "
                code { "sluice review approve " (id) " --set field=value --reason …" } "." }
        }
    }
}

/// An audit trail as a table (nothing when it is empty).
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
                        td { (instant(row.at)) }
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

/// An instant as the console writes it, in UTC.
pub fn instant(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}
