//! `GET /executions`: search by execution id, correlation id, workflow,
//! state and time; `GET /executions/{id}`: the timeline, the same data as
//! `sluice trace`, with each step's duration and the model and prompt
//! version among its facts.

use axum::extract::{Path, Query};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use sluice_core::{ExecutionId, State};
use sluice_ledger::{Execution, ExecutionFilter};
use sluice_ops::timeline::Timeline;

use crate::auth::SignedIn;
use crate::error::{Error, Result};
use crate::pages::layout;

/// Rows per page of the list.
const PAGE: u32 = 50;
/// How many executions a correlation search reads at most.
const MAX_SCAN: usize = 20_000;

/// The search form.
#[derive(Debug, Default, Deserialize)]
pub struct Search {
    /// An execution id or a correlation id.
    #[serde(default)]
    q: String,
    #[serde(default)]
    workflow: String,
    #[serde(default)]
    state: String,
    /// `YYYY-MM-DDTHH:MM` (a `datetime-local` input), UTC.
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    page: String,
}

impl Search {
    fn filter(&self) -> Result<ExecutionFilter> {
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        let state = some(&self.state)
            .map(|s| s.parse::<State>())
            .transpose()
            .map_err(|_| Error::BadRequest("unknown state"))?;
        Ok(ExecutionFilter {
            workflow: some(&self.workflow),
            state,
            since: parse_instant(&self.since)?,
            until: parse_instant(&self.until)?,
            limit: PAGE,
            page_token: self.page.clone(),
        })
    }
}

fn parse_instant(text: &str) -> Result<Option<DateTime<Utc>>> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").map(|t| t.and_utc()))
        .map(Some)
        .map_err(|_| Error::BadRequest("times are YYYY-MM-DDTHH:MM (UTC) or RFC 3339"))
}

/// `GET /executions`.
pub async fn list(signed_in: SignedIn, Query(search): Query<Search>) -> Result<Response> {
    let session = &signed_in.session;
    let filter = search.filter()?;
    let q = search.q.trim();
    let (rows, next, note) = if q.is_empty() {
        let page = session.ledger.list_executions(&filter).await?;
        (page.executions, page.next_page_token, None)
    } else {
        if let Ok(id) = q.parse::<ExecutionId>() {
            match session.ledger.get_execution(id).await {
                Ok(_) => return Ok(Redirect::to(&format!("/executions/{id}")).into_response()),
                // Generated correlation ids are UUIDs too: look for one.
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let (found, scanned) =
            sluice_ops::search::by_correlation(&session.ledger, &filter, q, MAX_SCAN).await?;
        let note = format!(
            "correlation id {q:?}: {} found among {scanned} scanned",
            found.len()
        );
        (found, String::new(), Some(note))
    };
    let body = html! {
        h1 { "Executions" }
        (form(&search))
        @if let Some(note) = note { p { (note) } }
        (table(&rows))
        @if !next.is_empty() {
            p { a href={ "/executions?" (query(&search, &next)) } { "Older executions →" } }
        }
    };
    Ok(Html(layout::page("Executions", Some(session), body).into_string()).into_response())
}

fn is_not_found(e: &sluice_ledger::Error) -> bool {
    match e {
        sluice_ledger::Error::NotFound(_) => true,
        sluice_ledger::Error::Status(s) => s.code() == tonic::Code::NotFound,
        _ => false,
    }
}

/// The search's query string for the page after `token`.
fn query(search: &Search, token: &str) -> String {
    let pairs = [
        ("workflow", search.workflow.as_str()),
        ("state", search.state.as_str()),
        ("since", search.since.as_str()),
        ("until", search.until.as_str()),
        ("page", token),
    ];
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes everything but unreserved characters.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn form(search: &Search) -> Markup {
    html! {
        form class="search" method="get" action="/executions" role="search" {
            div class="field" {
                label for="q" { "Execution id or correlation id" }
                input id="q" name="q" type="search" value=(search.q);
            }
            div class="field" {
                label for="workflow" { "Workflow" }
                input id="workflow" name="workflow" value=(search.workflow);
            }
            div class="field" {
                label for="state" { "State" }
                select id="state" name="state" {
                    option value="" { "any" }
                    @for state in State::ALL {
                        @let name = state.to_string();
                        option value=(name) selected[name == search.state] { (name) }
                    }
                }
            }
            div class="field" {
                label for="since" { "Received from (UTC)" }
                input id="since" name="since" type="datetime-local" value=(search.since);
            }
            div class="field" {
                label for="until" { "Received before (UTC)" }
                input id="until" name="until" type="datetime-local" value=(search.until);
            }
            button type="submit" { "Search" }
        }
    }
}

fn table(rows: &[Execution]) -> Markup {
    if rows.is_empty() {
        return html! { p { "No execution matches." } };
    }
    html! {
        table {
            caption { (rows.len()) " executions, newest first" }
            thead { tr {
                th scope="col" { "Execution" }
                th scope="col" { "Workflow" }
                th scope="col" { "State" }
                th scope="col" { "Received" }
                th scope="col" { "Correlation id" }
                th scope="col" { "Why it stopped" }
            } }
            tbody {
                @for e in rows {
                    tr {
                        th scope="row" { a href={ "/executions/" (e.execution_id) } { code { (e.execution_id) } } }
                        td { (e.workflow) }
                        td { (e.state) }
                        td { (layout::instant(e.received_at)) }
                        td { code { (e.correlation_id) } }
                        td { (e.exception_reason.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
    }
}

/// `GET /executions/{id}`.
pub async fn show(signed_in: SignedIn, Path(id): Path<String>) -> Result<Html<String>> {
    let session = &signed_in.session;
    let id: ExecutionId = id
        .parse()
        .map_err(|_| Error::BadRequest("not an execution id"))?;
    let (execution, journal) = session.ledger.get_execution(id).await?;
    let t = Timeline::new(&execution, &journal);
    let title = format!("Execution {}", t.execution_id);
    let body = html! {
        p { a href="/executions" { "← Executions" } }
        h1 { "Execution " code { (t.execution_id) } }
        table {
            caption { "The execution" }
            tbody {
                tr { th scope="row" { "Workflow" } td { (t.workflow) } }
                tr { th scope="row" { "Source and event" } td { (t.source) " / " code { (t.event_id) } } }
                tr { th scope="row" { "Correlation id" } td {
                    a href={ "/executions?q=" (encode(&t.correlation_id)) } { code { (t.correlation_id) } }
                } }
                tr { th scope="row" { "State" } td { strong { (t.state) } } }
                tr { th scope="row" { "Started" } td { (layout::instant(t.started_at)) } }
                tr { th scope="row" { "Took" } td { (t.total_ms) " ms" } }
                @if let Some(why) = &t.exception_reason {
                    tr { th scope="row" { "Why it stopped" } td { (why) } }
                }
                @if let Some(outcome) = &t.final_outcome {
                    tr { th scope="row" { "Outcome" } td { (outcome) } }
                }
            }
        }
        table {
            caption { "Timeline" }
            thead { tr {
                th scope="col" { "#" }
                th scope="col" { "At (since start)" }
                th scope="col" { "Took" }
                th scope="col" { "Stage" }
                th scope="col" { "Move" }
                th scope="col" { "By" }
                th scope="col" { "Facts" }
            } }
            tbody {
                @for step in &t.steps {
                    tr {
                        td { (step.seq) }
                        td { "+" (step.since_start_ms) " ms" }
                        td { (step.duration_ms) " ms" }
                        td { (step.stage) }
                        td { (step.from.as_deref().unwrap_or("—")) " → " strong { (step.to) } }
                        td { (step.actor) }
                        td {
                            @if !step.facts.is_empty() {
                                dl {
                                    @for fact in &step.facts {
                                        dt { (fact.name) } dd { (fact.value) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(Html(
        layout::page(&title, Some(session), body).into_string(),
    ))
}
