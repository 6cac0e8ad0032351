//! The gauges of what is waiting: open dead letters, the review backlog and
//! its oldest item's age (from the ledger, so every replica shows the
//! fleet's numbers), and the pending work of every durable consumer of the
//! installation's streams (from JetStream).
//!
//! A label set that disappears (a workflow's last review decided, a
//! consumer deleted) is set to zero rather than left at its last value.

use std::collections::BTreeSet;
use std::time::Duration;

use sluice_bus::Bus;
use sluice_core::metrics::{DEAD_LETTER_DEPTH, REVIEW_BACKLOG, REVIEW_BACKLOG_AGE};
use sluice_core::subjects::StreamKind;
use sluice_ledger::{Backlog, LedgerClient};
use tokio_util::sync::CancellationToken;

use crate::Error;

/// The streams whose consumers are sampled.
const STREAMS: [StreamKind; 4] = [
    StreamKind::Ingest,
    StreamKind::Pipeline,
    StreamKind::DeadLetter,
    StreamKind::Advisories,
];

/// Label sets set before, so a vanished one drops to zero.
#[derive(Debug, Default)]
pub struct Seen {
    reviews: BTreeSet<String>,
    dead_letters: BTreeSet<(String, String)>,
    consumers: BTreeSet<(String, String)>,
}

/// Samples every `every` until `shutdown`; a failed sample is logged and
/// tried again next period.
pub async fn watch(bus: Bus, ledger: LedgerClient, every: Duration, shutdown: CancellationToken) {
    let mut seen = Seen::default();
    loop {
        if let Err(e) = sample(&bus, &ledger, &mut seen).await {
            tracing::warn!(error = %e, "backlog sample failed; will retry");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// One sample of every gauge.
pub async fn sample(bus: &Bus, ledger: &LedgerClient, seen: &mut Seen) -> Result<(), Error> {
    set_backlog(&ledger.backlog().await?, seen);
    let streams: Vec<String> = STREAMS.iter().map(|k| bus.subjects().stream(*k)).collect();
    sluice_bus::observe::sample_consumers(bus.jetstream(), &streams, &mut seen.consumers).await?;
    Ok(())
}

#[allow(clippy::cast_precision_loss)] // counts of items
fn set_backlog(backlog: &Backlog, seen: &mut Seen) {
    let mut reviews = BTreeSet::new();
    for r in &backlog.reviews {
        metrics::gauge!(REVIEW_BACKLOG.name, "workflow" => r.workflow.clone()).set(r.open as f64);
        metrics::gauge!(REVIEW_BACKLOG_AGE.name, "workflow" => r.workflow.clone())
            .set(r.oldest_age_seconds);
        reviews.insert(r.workflow.clone());
    }
    for workflow in seen.reviews.difference(&reviews) {
        metrics::gauge!(REVIEW_BACKLOG.name, "workflow" => workflow.clone()).set(0.0);
        metrics::gauge!(REVIEW_BACKLOG_AGE.name, "workflow" => workflow.clone()).set(0.0);
    }
    seen.reviews.extend(reviews);

    let mut dead_letters = BTreeSet::new();
    for d in &backlog.dead_letters {
        metrics::gauge!(DEAD_LETTER_DEPTH.name,
            "workflow" => d.workflow.clone(), "stage" => d.stage.clone())
        .set(d.open as f64);
        dead_letters.insert((d.workflow.clone(), d.stage.clone()));
    }
    for (workflow, stage) in seen.dead_letters.difference(&dead_letters) {
        metrics::gauge!(DEAD_LETTER_DEPTH.name,
            "workflow" => workflow.clone(), "stage" => stage.clone())
        .set(0.0);
    }
    seen.dead_letters.extend(dead_letters);
}
