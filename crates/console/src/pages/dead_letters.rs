//! `GET /dead-letters`: the dead-letter index, filtered, newest first, with
//! the way into a replay of what the filter selects. Only the sre and admin
//! roles see dead letters (the ledger refuses the others too).

use axum::extract::{Query, State};
use axum::response::Html;
use maud::{Markup, html};
use serde::Deserialize;
use sluice_core::FailureClass;
use sluice_ledger::{DeadLetter, DeadLetterFilter, DeadLetterStatus};

use crate::auth::SignedIn;
use crate::error::{Error, Result};
use crate::pages::layout;
use crate::session::Session;
use crate::state::AppState;

/// How many entries one page lists (and one filtered replay takes at most).
pub const PAGE: u32 = 200;

const CLASSES: [FailureClass; 3] = [
    FailureClass::Temporary,
    FailureClass::Permanent,
    FailureClass::Unknown,
];

/// Refuses every role but sre and admin, before the ledger is asked.
pub fn require_operator(session: &Session) -> Result<()> {
    if session.may_operate() {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only the sre and admin roles see, replay and discard dead letters",
        ))
    }
}

/// Which entries: the list page's query and the replay preview's hidden
/// fields. Empty means any, except `status`, which means open.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Filter {
    #[serde(default)]
    workflow: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    class: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    contains: String,
    #[serde(default)]
    correlation: String,
}

fn given(value: &str) -> Option<String> {
    Some(value.trim().to_owned()).filter(|v| !v.is_empty())
}

impl Filter {
    /// The ledger's filter for at most `PAGE` entries.
    pub fn to_ledger(&self) -> Result<DeadLetterFilter> {
        Ok(DeadLetterFilter {
            stage: given(&self.stage),
            workflow: given(&self.workflow),
            failure_class: self.class()?,
            reason_contains: given(&self.contains),
            status: self.status()?,
            correlation_id: given(&self.correlation),
            limit: PAGE,
            ..DeadLetterFilter::default()
        })
    }

    fn class(&self) -> Result<Option<FailureClass>> {
        let Some(class) = given(&self.class) else {
            return Ok(None);
        };
        CLASSES
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(&class))
            .map(Some)
            .ok_or(Error::BadRequest(
                "unknown failure class: choose temporary, permanent or unknown",
            ))
    }

    /// The status asked for: open unless another (or `any`) is chosen.
    fn status(&self) -> Result<Option<DeadLetterStatus>> {
        match self.status_value().as_str() {
            "any" => Ok(None),
            other => DeadLetterStatus::parse(&other.to_ascii_uppercase())
                .map(Some)
                .ok_or(Error::BadRequest(
                    "unknown status: choose open, replayed, discarded or any",
                )),
        }
    }

    fn status_value(&self) -> String {
        given(&self.status).map_or_else(|| "open".to_owned(), |s| s.to_ascii_lowercase())
    }

    /// The filter as hidden form fields, so a replay preview selects what
    /// this list shows.
    pub fn hidden(&self) -> Markup {
        let fields = [
            ("workflow", self.workflow.as_str()),
            ("stage", self.stage.as_str()),
            ("class", self.class.as_str()),
            ("contains", self.contains.as_str()),
            ("correlation", self.correlation.as_str()),
        ];
        html! {
            input type="hidden" name="status" value=(self.status_value());
            @for (name, value) in fields {
                @if !value.trim().is_empty() {
                    input type="hidden" name=(name) value=(value.trim());
                }
            }
        }
    }

    fn form(&self) -> Markup {
        let text = |name: &str, label: &str, value: &str| {
            let id = format!("filter-{name}");
            html! {
                label for=(id) { (label) input type="text" id=(id) name=(name) value=(value); }
            }
        };
        let status = self.status_value();
        html! {
            form class="filter" method="get" action="/dead-letters" aria-label="Filter dead letters" {
                (text("workflow", "Workflow", &self.workflow))
                (text("stage", "Stage", &self.stage))
                label for="filter-class" { "Class"
                    select id="filter-class" name="class" {
                        option value="" { "any" }
                        @for class in CLASSES {
                            option value=(class.as_str())
                                selected[self.class.eq_ignore_ascii_case(class.as_str())] { (class.as_str()) }
                        }
                    }
                }
                label for="filter-status" { "Status"
                    select id="filter-status" name="status" {
                        @for value in ["open", "replayed", "discarded", "any"] {
                            option value=(value) selected[status == value] { (value) }
                        }
                    }
                }
                (text("contains", "Reason contains", &self.contains))
                (text("correlation", "Correlation id", &self.correlation))
                button type="submit" { "Filter" }
            }
        }
    }
}

/// `GET /dead-letters`.
pub async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(filter): Query<Filter>,
) -> Result<Html<String>> {
    let session = &signed_in.session;
    require_operator(session)?;
    let page = session
        .ledger
        .list_dead_letters(&filter.to_ledger()?)
        .await?;
    let entries = &page.dead_letters;
    let replayable = filter.status()? != Some(DeadLetterStatus::Discarded);
    let body = html! {
        h1 { "Dead letters" }
        (filter.form())
        @if entries.is_empty() {
            p { "No dead letter matches this filter." }
        } @else {
            (table(entries, &state.catalog.owners()))
            @if !page.next_page_token.is_empty() {
                p { "Only the newest " (PAGE) " are shown: narrow the filter to see the others." }
            }
            @if replayable {
                form class="decision" method="post" action="/dead-letters/replays/preview" {
                    (layout::csrf_field(session))
                    (filter.hidden())
                    p { "A replay republishes each entry to its original subject under a new generation. "
                        "You see exactly what would be sent, and confirm, before anything is sent." }
                    button type="submit" { "Preview a replay of the entries listed" }
                }
            }
        }
    };
    Ok(Html(
        layout::page("Dead letters", Some(session), body).into_string(),
    ))
}

fn table(entries: &[DeadLetter], owners: &sluice_core::workflow::Owners) -> Markup {
    html! {
        table {
            caption { (entries.len()) " dead letters, newest first" }
            thead { tr {
                th scope="col" { "Entry" }
                th scope="col" { "When" }
                th scope="col" { "Workflow" }
                th scope="col" { "Owner" }
                th scope="col" { "Stage" }
                th scope="col" { "Class" }
                th scope="col" { "Reason" }
                th scope="col" { "Replays" }
                th scope="col" { "Status" }
            } }
            tbody {
                @for d in entries {
                    tr {
                        th scope="row" { a href={ "/dead-letters/" (d.id) } { "#" (d.id) } }
                        td { (layout::instant(d.created_at)) }
                        td { (d.workflow) }
                        td { (owners.owner(&d.workflow).unwrap_or("—")) }
                        td { (d.stage) }
                        td { (d.failure_class.as_str()) }
                        td { (d.reason) }
                        td { (d.replay_count) }
                        td { (d.status.as_str()) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_filter_selects_open_entries() -> Result<()> {
        let filter = Filter::default().to_ledger()?;
        assert_eq!(filter.status, Some(DeadLetterStatus::Open));
        assert_eq!(filter.stage, None);
        let any = Filter {
            status: "any".into(),
            class: "Permanent".into(),
            ..Filter::default()
        }
        .to_ledger()?;
        assert_eq!(any.status, None);
        assert_eq!(any.failure_class, Some(FailureClass::Permanent));
        Ok(())
    }

    #[test]
    fn an_unknown_status_is_refused() {
        let filter = Filter {
            status: "lost".into(),
            ..Filter::default()
        };
        assert!(matches!(filter.to_ledger(), Err(Error::BadRequest(_))));
    }

    #[test]
    fn the_hidden_fields_carry_the_effective_status() {
        let html = Filter {
            stage: " execute ".into(),
            ..Filter::default()
        }
        .hidden()
        .into_string();
        assert!(html.contains(r#"name="status" value="open""#), "{html}");
        assert!(html.contains(r#"name="stage" value="execute""#), "{html}");
        assert!(!html.contains("workflow"), "{html}");
    }
}
