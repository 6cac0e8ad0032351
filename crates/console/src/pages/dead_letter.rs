//! `GET /dead-letters/{id}` (the entry: what failed and why, the original
//! subject, headers and payload, the audit trail, the replay and discard
//! forms) and `POST /dead-letters/{id}/discard`.

use axum::extract::{Form, Path};
use axum::response::{Html, Redirect};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use sluice_ledger::{DeadLetter, DeadLetterStatus};

use crate::auth::SignedIn;
use crate::error::{Error, Result};
use crate::pages::dead_letters::require_operator;
use crate::pages::{item, layout};
use crate::session::Session;

/// The discard form.
#[derive(Debug, Deserialize)]
pub struct DiscardForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// `GET /dead-letters/{id}`.
pub async fn show(signed_in: SignedIn, Path(id): Path<i64>) -> Result<Html<String>> {
    let session = &signed_in.session;
    require_operator(session)?;
    let (entry, audit) = session.ledger.get_dead_letter(id).await?;
    let title = format!("Dead letter #{}", entry.id);
    let body = html! {
        p { a href="/dead-letters" { "← Dead letters" } }
        h1 { (title) }
        (summary(&entry))
        (headers(&entry))
        section aria-labelledby="payload" {
            h2 id="payload" { "Payload" }
            p { (entry.payload.len()) " bytes, shown as text." }
            pre { (payload_text(&entry.payload)) }
        }
        @if let Some(detail) = &entry.error_detail {
            section aria-labelledby="detail" {
                h2 id="detail" { "Error detail" }
                pre { (pretty(detail)) }
            }
        }
        (forms(session, &entry))
        (item::trail(&audit))
    };
    Ok(Html(
        layout::page(&title, Some(session), body).into_string(),
    ))
}

/// `POST /dead-letters/{id}/discard`.
pub async fn discard(
    signed_in: SignedIn,
    Path(id): Path<i64>,
    Form(input): Form<DiscardForm>,
) -> Result<Redirect> {
    signed_in.check_csrf(&input.csrf)?;
    let session = &signed_in.session;
    require_operator(session)?;
    let reason = input.reason.trim();
    if reason.is_empty() {
        return Err(Error::BadRequest("a discard needs a reason"));
    }
    let change = session.ledger.discard_dead_letter(id, reason).await?;
    tracing::info!(
        dead_letter = id,
        operator = %session.name,
        applied = change.applied,
        "dead letter discarded"
    );
    Ok(Redirect::to(&format!("/dead-letters/{id}")))
}

fn summary(d: &DeadLetter) -> Markup {
    let execution = d
        .execution_id
        .map_or("none".to_owned(), |id| id.to_string());
    html! {
        table {
            caption { "The entry" }
            tbody {
                tr { th scope="row" { "Status" } td { (d.status.as_str()) } }
                tr { th scope="row" { "Workflow" } td { (d.workflow) } }
                tr { th scope="row" { "Stage" } td { (d.stage) } }
                tr { th scope="row" { "Failure" } td { (d.failure_class.as_str()) ": " (d.reason) } }
                tr { th scope="row" { "Attempts" } td { (d.attempts) } }
                tr { th scope="row" { "First failed" } td { (layout::instant(d.first_failed_at)) } }
                tr { th scope="row" { "Last failed" } td { (layout::instant(d.last_failed_at)) } }
                tr { th scope="row" { "Recorded" } td { (layout::instant(d.created_at)) } }
                tr { th scope="row" { "Execution" } td { code { (execution) } } }
                tr { th scope="row" { "Correlation id" } td { code { (d.correlation_id) } } }
                tr { th scope="row" { "Subject" } td { code { (d.subject) } } }
                tr { th scope="row" { "Original message" } td {
                    "sequence " (d.stream_sequence) " of " code { (d.stream) }
                } }
                tr { th scope="row" { "Replays" } td { (d.replay_count) } }
            }
        }
    }
}

fn headers(d: &DeadLetter) -> Markup {
    if d.headers.is_empty() {
        return html! { p { "The original message had no headers." } };
    }
    html! {
        table {
            caption { "Original headers" }
            thead { tr { th scope="col" { "Header" } th scope="col" { "Value" } } }
            tbody {
                @for (name, values) in &d.headers {
                    @for value in values {
                        tr { th scope="row" { code { (name) } } td { code { (value) } } }
                    }
                }
            }
        }
    }
}

fn forms(session: &Session, d: &DeadLetter) -> Markup {
    if d.status == DeadLetterStatus::Discarded {
        return html! { p { "This entry is discarded: it is never replayed." } };
    }
    html! {
        section aria-labelledby="act" {
            h2 id="act" { "Replay or discard" }
            form class="decision" method="post" action="/dead-letters/replays/preview" {
                (layout::csrf_field(session))
                input type="hidden" name="ids" value=(d.id);
                p { "Republishes the original message to " code { (d.subject) }
                    " under a new generation. You see what would be sent, and confirm, before anything is sent." }
                button type="submit" { "Preview a replay" }
            }
            form class="decision" method="post" action={ "/dead-letters/" (d.id) "/discard" } {
                (layout::csrf_field(session))
                label for="discard-reason" { "Reason for discarding" }
                p { "Gives up on the entry for good: it can no longer be replayed. Say why." }
                textarea id="discard-reason" name="reason" rows="2" required {}
                button type="submit" { "Discard" }
            }
        }
    }
}

/// The payload as text: pretty JSON when it parses, otherwise the bytes as
/// UTF-8 (invalid sequences replaced). Maud escapes it, so markup in a
/// payload is shown, never rendered.
fn payload_text(payload: &[u8]) -> String {
    match serde_json::from_slice::<Value>(payload) {
        Ok(value) => pretty(&value),
        Err(_) => String::from_utf8_lossy(payload).into_owned(),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_is_text_and_never_markup() {
        assert_eq!(payload_text(br#"{"a":1}"#), "{\n  \"a\": 1\n}");
        let html = html! { pre { (payload_text(b"<script>x</script>\xff")) } }.into_string();
        assert_eq!(html, "<pre>&lt;script&gt;x&lt;/script&gt;\u{fffd}</pre>");
    }
}
