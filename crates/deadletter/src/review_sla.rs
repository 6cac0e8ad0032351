//! Review items past their SLA, made loud.
//!
//! Every check period the service asks the ledger for open review items
//! past their `sla_due_at` whose overdue event has not gone out, announces
//! each on `<prefix>.events.review_overdue.<workflow>` (with
//! `Nats-Msg-Id = review-overdue:<item>`, so a crash between the publish and
//! the ledger's mark re-publishes a copy the broker drops), marks it in the
//! ledger, and sets the `sluice_review_overdue{workflow}` gauge to the open
//! overdue count. Any replica may run it: the ledger's mark and the Msg-Id
//! keep it to one event per item.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use sluice_bus::{Bus, ExecutionEvent};
use sluice_core::metrics::{REVIEW_OVERDUE, REVIEW_SLA_BREACHES};
use sluice_core::{CorrelationId, ExecutionId, State};
use sluice_ledger::{LedgerClient, ReviewItem, ReviewKind};
use tokio_util::sync::CancellationToken;

use crate::Error;

/// How many overdue items one check announces at most.
const BATCH: u32 = 100;

/// Watches review SLAs until `shutdown`, checking every `every`.
pub async fn watch(bus: Bus, ledger: LedgerClient, every: Duration, shutdown: CancellationToken) {
    // Workflows seen overdue before, so their gauge drops back to zero.
    let mut seen = BTreeSet::new();
    loop {
        if let Err(e) = check(&bus, &ledger, &mut seen).await {
            tracing::warn!(error = %e, "review SLA check failed; will retry");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// One check: announce and mark every unannounced overdue item, then set
/// the gauges.
pub async fn check(
    bus: &Bus,
    ledger: &LedgerClient,
    seen: &mut BTreeSet<String>,
) -> Result<usize, Error> {
    let overdue = ledger.overdue_reviews(BATCH).await?;
    for item in &overdue.unannounced {
        let event = event(item);
        let msg_id = format!("review-overdue:{}", item.id);
        bus.announce_named("review_overdue", &msg_id, &event)
            .await?;
        ledger.mark_review_overdue_announced(item.id).await?;
        tracing::warn!(review_item = item.id, execution_id = %item.execution_id,
            workflow = %item.workflow, "review item past its SLA");
        metrics::counter!(REVIEW_SLA_BREACHES.name, "workflow" => item.workflow.clone())
            .increment(1);
    }
    seen.extend(overdue.open_overdue.keys().cloned());
    for workflow in seen.iter() {
        let open = overdue.open_overdue.get(workflow).copied().unwrap_or(0);
        #[allow(clippy::cast_precision_loss)] // counts of items
        metrics::gauge!(REVIEW_OVERDUE.name, "workflow" => workflow.clone()).set(open as f64);
    }
    Ok(overdue.unannounced.len())
}

fn event(item: &ReviewItem) -> ExecutionEvent {
    let state = match item.kind {
        ReviewKind::Review => State::HumanReviewPending,
        ReviewKind::NeedsReview => State::NeedsReview,
    };
    let due = item.sla_due_at.map(|d| d.to_rfc3339());
    ExecutionEvent {
        execution_id: ExecutionId::from_uuid(item.execution_id),
        correlation_id: CorrelationId::from_upstream(Some(&item.correlation_id)),
        workflow: item.workflow.clone(),
        state,
        outcome: format!("review item {} not decided within its SLA", item.id),
        external_id: None,
        detail: json!({ "review_item": item.id, "kind": item.kind.as_str(), "sla_due_at": due,
                        "opened_at": item.created_at }),
        at: Utc::now(),
    }
}
