//! The gauges of what is waiting: open dead letters, the review backlog and
//! its oldest item's age (from the ledger, so every replica shows the
//! fleet's numbers), and the pending work of every durable consumer of the
//! installation's streams (from JetStream).
//!
//! The review and dead-letter gauges carry the workflow's declared owner
//! (`unowned` when none is), so alerts can be routed to the team.
//!
//! A label set that disappears (a workflow's last review decided, a
//! consumer deleted) is set to zero rather than left at its last value.

use std::collections::BTreeSet;
use std::time::Duration;

use sluice_bus::Bus;
use sluice_core::metrics::{DEAD_LETTER_DEPTH, REVIEW_BACKLOG, REVIEW_BACKLOG_AGE, WORKFLOW_OWNER};
use sluice_core::subjects::StreamKind;
use sluice_core::workflow::Owners;
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
pub async fn watch(
    bus: Bus,
    ledger: LedgerClient,
    owners: Owners,
    every: Duration,
    shutdown: CancellationToken,
) {
    let mut seen = Seen::default();
    loop {
        if let Err(e) = sample(&bus, &ledger, &owners, &mut seen).await {
            tracing::warn!(error = %e, "backlog sample failed; will retry");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// One sample of every gauge.
pub async fn sample(
    bus: &Bus,
    ledger: &LedgerClient,
    owners: &Owners,
    seen: &mut Seen,
) -> Result<(), Error> {
    // Owners first: they need neither the ledger nor NATS, so the alerts
    // that join on them keep their owner while either is away.
    for (workflow, ownership) in owners.iter() {
        metrics::gauge!(WORKFLOW_OWNER.name,
            "workflow" => workflow.to_owned(), "owner" => ownership.owner.clone())
        .set(1.0);
    }
    set_backlog(&ledger.backlog().await?, owners, seen);
    let streams: Vec<String> = STREAMS.iter().map(|k| bus.subjects().stream(*k)).collect();
    sluice_bus::observe::sample_consumers(bus.jetstream(), &streams, &mut seen.consumers).await?;
    Ok(())
}

#[allow(clippy::cast_precision_loss)] // counts of items
fn set_backlog(backlog: &Backlog, owners: &Owners, seen: &mut Seen) {
    let review = |workflow: &str, open: f64, age: f64| {
        let owner = owners.label(workflow).to_owned();
        metrics::gauge!(REVIEW_BACKLOG.name,
            "workflow" => workflow.to_owned(), "owner" => owner.clone())
        .set(open);
        metrics::gauge!(REVIEW_BACKLOG_AGE.name,
            "workflow" => workflow.to_owned(), "owner" => owner)
        .set(age);
    };
    let mut reviews = BTreeSet::new();
    for r in &backlog.reviews {
        review(&r.workflow, r.open as f64, r.oldest_age_seconds);
        reviews.insert(r.workflow.clone());
    }
    for workflow in seen.reviews.difference(&reviews) {
        review(workflow, 0.0, 0.0);
    }
    seen.reviews.extend(reviews);

    let depth = |workflow: &str, stage: &str, open: f64| {
        metrics::gauge!(DEAD_LETTER_DEPTH.name,
            "workflow" => workflow.to_owned(), "stage" => stage.to_owned(),
            "owner" => owners.label(workflow).to_owned())
        .set(open);
    };
    let mut dead_letters = BTreeSet::new();
    for d in &backlog.dead_letters {
        depth(&d.workflow, &d.stage, d.open as f64);
        dead_letters.insert((d.workflow.clone(), d.stage.clone()));
    }
    for (workflow, stage) in seen.dead_letters.difference(&dead_letters) {
        depth(workflow, stage, 0.0);
    }
    seen.dead_letters.extend(dead_letters);
}
