//! `GET /reviews`: the open review items, oldest first.

use axum::extract::State;
use axum::response::Html;
use chrono::{DateTime, Utc};
use maud::html;
use sluice_ledger::{ReviewFilter, ReviewItem, ReviewStatus};

use crate::auth::SignedIn;
use crate::error::Result;
use crate::pages::{handoff, layout};
use crate::state::AppState;

/// How many open items one page shows.
const PAGE: u32 = 200;

/// `GET /reviews`.
pub async fn list(State(state): State<AppState>, signed_in: SignedIn) -> Result<Html<String>> {
    let session = &signed_in.session;
    let filter = ReviewFilter {
        status: Some(ReviewStatus::Open),
        limit: PAGE,
        ..ReviewFilter::default()
    };
    let page = session.ledger.list_review_items(&filter).await?;
    let now = Utc::now();
    let owners = state.catalog.owners();
    let body = html! {
        h1 { "Review queue" }
        @if !session.may_decide() {
            p { "Your role (" (session.role.as_str()) ") can read the queue; only reviewers and admins decide." }
        }
        // With htmx the queue keeps itself current (the same page, fetched
        // again, this part swapped in); without it, a reload does the same.
        div id="queue" hx-get="/reviews" hx-trigger="every 5s" hx-select="#queue" hx-swap="outerHTML" {
            @if page.items.is_empty() {
                p { "No item is waiting for a decision." }
            } @else {
                table {
                    caption { (page.items.len()) " open items, oldest first" }
                    thead { tr {
                        th scope="col" { "Item" }
                        th scope="col" { "Workflow" }
                        th scope="col" { "Owner" }
                        th scope="col" { "Waiting for" }
                        th scope="col" { "Why it stopped" }
                        th scope="col" { "Due" }
                    } }
                    tbody {
                        @for item in &page.items {
                            tr {
                                th scope="row" { a href={ "/reviews/" (item.id) } { "#" (item.id) } }
                                td { (item.workflow) }
                                td { (owners.owner(&item.workflow).unwrap_or("—")) }
                                td { (age(now, item.created_at)) }
                                td { (handoff::text(&item.handoff["why_stopped"])) }
                                (sla(now, item))
                            }
                        }
                    }
                }
                @if !page.next_page_token.is_empty() {
                    p { "Only the oldest " (PAGE) " are shown." }
                }
            }
        }
    };
    Ok(Html(
        layout::page("Review queue", Some(session), body).into_string(),
    ))
}

fn sla(now: DateTime<Utc>, item: &ReviewItem) -> maud::Markup {
    match item.sla_due_at {
        None => html! { td { "no SLA" } },
        Some(due) if due <= now => html! {
            td class="overdue" { "overdue by " (age(now, due)) }
        },
        Some(due) => html! { td { "in " (age(due, now)) } },
    }
}

/// `later - earlier` as an operator reads it (`45s`, `12m`, `3h 5m`, `2d 4h`).
pub fn age(later: DateTime<Utc>, earlier: DateTime<Utc>) -> String {
    let s = (later - earlier).num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..86_400 => format!("{}h {}m", s / 3_600, s % 3_600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3_600),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn ages_read_at_a_glance() {
        let now = Utc::now();
        assert_eq!(age(now, now - Duration::seconds(45)), "45s");
        assert_eq!(age(now, now - Duration::minutes(12)), "12m");
        assert_eq!(age(now, now - Duration::minutes(185)), "3h 5m");
        assert_eq!(age(now, now - Duration::hours(52)), "2d 4h");
        assert_eq!(age(now, now + Duration::hours(1)), "0s");
    }

    #[test]
    fn an_item_past_its_due_time_is_marked_overdue() {
        let now = Utc::now();
        let mut item = ReviewItem {
            id: 7,
            execution_id: uuid::Uuid::nil(),
            generation: "0".into(),
            workflow: "reservation".into(),
            correlation_id: "c".into(),
            kind: sluice_ledger::ReviewKind::Review,
            handoff: serde_json::Value::Null,
            status: ReviewStatus::Open,
            sla_due_at: Some(now - Duration::minutes(5)),
            created_at: now - Duration::hours(1),
            decided_at: None,
            decided_by: None,
            decision_reason: None,
            corrections: None,
            manually_corrected: false,
        };
        let cell = sla(now, &item).into_string();
        assert!(
            cell.contains(r#"class="overdue""#) && cell.contains("overdue by 5m"),
            "{cell}"
        );
        item.sla_due_at = Some(now + Duration::minutes(30));
        assert_eq!(sla(now, &item).into_string(), "<td>in 30m</td>");
    }
}
