//! The replay preview page: what would be sent, and the form that
//! confirms it (reason, optional pacing, the typed confirmation), with each
//! field's error next to it when the confirmed form comes back refused.

use maud::{Markup, html};
use sluice_ledger::DeadLetter;
use sluice_ops::replay;

use crate::pages::layout;
use crate::session::Session;

/// What the operator typed so far, and what is wrong with it.
#[derive(Debug, Default)]
pub struct Draft<'a> {
    /// The reason typed.
    pub reason: &'a str,
    /// The pacing typed.
    pub rps: &'a str,
    /// What is wrong with the reason.
    pub reason_error: Option<&'static str>,
    /// What is wrong with the pacing.
    pub rps_error: Option<&'static str>,
    /// What is wrong with the confirmation.
    pub confirm_error: Option<String>,
}

impl Draft<'_> {
    /// Whether any field is refused.
    pub fn has_errors(&self) -> bool {
        self.reason_error.is_some() || self.rps_error.is_some() || self.confirm_error.is_some()
    }
}

/// The preview of replaying `entries` as `batch`; `discarded` entries of
/// the selection were left out.
pub fn body(
    session: &Session,
    entries: &[DeadLetter],
    discarded: usize,
    batch: &str,
    draft: &Draft<'_>,
) -> Markup {
    let planned = replay::preview(entries);
    let ids: Vec<String> = planned.iter().map(|p| p.id.to_string()).collect();
    let expected = confirmation(planned.len());
    html! {
        p { a href="/dead-letters" { "← Dead letters" } }
        h1 { "Replay preview: " (count(planned.len(), "dead letter", "dead letters")) }
        p { strong { "Nothing has been sent." } " Each entry below is republished to its original subject "
            "under a new generation, in this order, as batch " code { (batch) } "." }
        @if discarded > 0 {
            p class="warning" { (count(discarded, "discarded entry is", "discarded entries are")) " left out: discarded entries are never replayed." }
        }
        @if planned.is_empty() {
            p { "Nothing to replay." }
        } @else {
            table {
                caption { "What would be sent: " (count(planned.len(), "message", "messages")) }
                thead { tr {
                    th scope="col" { "Entry" }
                    th scope="col" { "Subject" }
                    th scope="col" { "Nats-Msg-Id" }
                } }
                tbody {
                    @for p in &planned {
                        tr {
                            th scope="row" { a href={ "/dead-letters/" (p.id) } { "#" (p.id) } }
                            td { code { (p.subject) } }
                            td { code { (p.msg_id) } }
                        }
                    }
                }
            }
            form class="decision" method="post" action="/dead-letters/replays" {
                (layout::csrf_field(session))
                input type="hidden" name="ids" value=(ids.join(","));
                input type="hidden" name="batch" value=(batch);
                label for="replay-reason" { "Reason" }
                textarea id="replay-reason" name="reason" rows="2" required
                    aria-invalid=[draft.reason_error.map(|_| "true")]
                    aria-describedby=[draft.reason_error.map(|_| "replay-reason-error")] { (draft.reason) }
                @if let Some(error) = draft.reason_error {
                    p id="replay-reason-error" class="error" role="alert" { (error) }
                }
                label for="replay-rps" { "At most this many publishes per second (optional)" }
                input type="text" id="replay-rps" name="rps" inputmode="decimal" value=(draft.rps)
                    aria-invalid=[draft.rps_error.map(|_| "true")]
                    aria-describedby=[draft.rps_error.map(|_| "replay-rps-error")];
                @if let Some(error) = draft.rps_error {
                    p id="replay-rps-error" class="error" role="alert" { (error) }
                }
                label for="replay-confirm" { "Type " code { (expected) } " to confirm" }
                input type="text" id="replay-confirm" name="confirm" required autocomplete="off"
                    aria-invalid=[draft.confirm_error.as_ref().map(|_| "true")]
                    aria-describedby=[draft.confirm_error.as_ref().map(|_| "replay-confirm-error")];
                @if let Some(error) = &draft.confirm_error {
                    p id="replay-confirm-error" class="error" role="alert" { (error) }
                }
                button type="submit" { "Replay " (count(planned.len(), "entry", "entries")) }
            }
        }
    }
}

/// What the operator types to confirm a replay of `n` entries.
pub fn confirmation(n: usize) -> String {
    format!("replay {n}")
}

/// `n` and the word for it: `1 entry`, `3 entries`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
