//! `GET /dead-letters/replays/{batch}`: how a replay started from this
//! console is going, entry by entry. While it runs the page reloads itself
//! every two seconds; once it stops short, it offers to resume the batch
//! (through the preview again: resuming sends only what was not sent).

use axum::extract::{Path, State};
use axum::response::Html;
use maud::{Markup, html};

use crate::auth::SignedIn;
use crate::error::{Error, Result};
use crate::pages::dead_letters::require_operator;
use crate::pages::layout;
use crate::replays::{EntryState, Progress, RunState};
use crate::session::Session;
use crate::state::AppState;
use sluice_ops::replay::Outcome;

/// How often a running replay's page reloads.
const REFRESH_S: u32 = 2;

/// `GET /dead-letters/replays/{batch}`.
pub async fn show(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(batch): Path<String>,
) -> Result<Html<String>> {
    let session = &signed_in.session;
    require_operator(session)?;
    let progress = state.replays.get(&batch).ok_or_else(|| {
        Error::NotFound(format!(
            "this console has no replay {batch}: it ran elsewhere or before a restart; \
             each entry's audit trail has it"
        ))
    })?;
    let title = format!("Replay {batch}");
    let body = html! {
        p { a href="/dead-letters" { "← Dead letters" } }
        h1 { (title) }
        p { "Started by " strong { (progress.started_by) } " at " (layout::instant(progress.started_at))
            ". Reason: " (progress.reason) }
        (state_line(&progress))
        (counts(&progress))
        (entries(&progress))
        (resume(session, &progress))
    };
    let page = if progress.state == RunState::Running {
        layout::refreshing_page(&title, Some(session), REFRESH_S, body)
    } else {
        layout::page(&title, Some(session), body)
    };
    Ok(Html(page.into_string()))
}

fn state_line(progress: &Progress) -> Markup {
    match &progress.state {
        RunState::Running => html! {
            p role="status" { strong { "Running." } " This page reloads every " (REFRESH_S) " seconds." }
        },
        RunState::Done => html! {
            p role="status" { strong { "Done." } " Every entry was replayed or had been already." }
        },
        RunState::Failed(why) => html! {
            p role="alert" class="warning" { strong { "Stopped: " } (why) }
        },
        RunState::Interrupted => html! {
            p role="alert" class="warning" {
                strong { "Interrupted: " } "the console shut down before the replay finished."
            }
        },
    }
}

fn counts(progress: &Progress) -> Markup {
    let counts = progress.counts();
    html! {
        table {
            caption { "Progress of " (progress.entries.len()) " entries" }
            thead { tr {
                th scope="col" { "Published" }
                th scope="col" { "Skipped (sent before)" }
                th scope="col" { "Failed" }
                th scope="col" { "Remaining" }
            } }
            tbody { tr {
                td { (counts.published) }
                td { (counts.skipped) }
                td { (counts.failed) }
                td { (counts.remaining) }
            } }
        }
    }
}

fn entries(progress: &Progress) -> Markup {
    html! {
        table {
            caption { "Entries, in replay order" }
            thead { tr {
                th scope="col" { "Entry" }
                th scope="col" { "Subject" }
                th scope="col" { "Nats-Msg-Id" }
                th scope="col" { "Result" }
            } }
            tbody {
                @for entry in &progress.entries {
                    tr {
                        th scope="row" { a href={ "/dead-letters/" (entry.id) } { "#" (entry.id) } }
                        td { code { (entry.subject) } }
                        td { code { (entry.msg_id) } }
                        td { (result(&entry.state)) }
                    }
                }
            }
        }
    }
}

fn result(state: &EntryState) -> String {
    match state {
        EntryState::Pending => "waiting".to_owned(),
        EntryState::Done(Outcome::Published) => "published".to_owned(),
        EntryState::Done(Outcome::Skipped) => "skipped: published earlier in this batch".to_owned(),
        EntryState::Done(Outcome::Found { sequence }) => {
            format!("skipped: an earlier run sent it (stream sequence {sequence})")
        }
        EntryState::Failed => "failed".to_owned(),
    }
}

fn resume(session: &Session, progress: &Progress) -> Markup {
    if matches!(progress.state, RunState::Running | RunState::Done) {
        return html! {};
    }
    let ids: Vec<String> = progress.entries.iter().map(|e| e.id.to_string()).collect();
    html! {
        form class="decision" method="post" action="/dead-letters/replays/preview" {
            (layout::csrf_field(session))
            input type="hidden" name="ids" value=(ids.join(","));
            input type="hidden" name="batch" value=(progress.batch);
            p { "Resuming runs the same batch again: what was published is skipped, "
                "and an entry cut off mid-way is looked for in the stream before it is sent." }
            button type="submit" { "Preview resuming this batch" }
        }
    }
}
