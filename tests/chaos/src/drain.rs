//! Waiting for the pipeline to come to rest after the faults: every accepted
//! event's execution in a resting state, or no progress for a while.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::log::Log;
use crate::probe::{Probe, resting_names};

/// Where the accepted events stand.
#[derive(Debug, Clone, Default)]
pub struct Standing {
    /// Accepted events with a resting execution.
    pub resting: usize,
    /// Accepted events whose execution is still moving, by state.
    pub moving: BTreeMap<String, usize>,
    /// Accepted events with no execution at all.
    pub missing: usize,
    /// Poison inputs not in the dead-letter index yet.
    pub poison_pending: usize,
}

impl Standing {
    /// Nothing left to wait for.
    pub fn settled(&self) -> bool {
        self.moving.is_empty() && self.missing == 0 && self.poison_pending == 0
    }

    fn progress(&self) -> (usize, usize) {
        (
            self.resting,
            self.moving.values().sum::<usize>() + self.poison_pending,
        )
    }
}

/// What to wait for: accepted events (ids) and poison inputs (markers).
#[derive(Debug, Clone, Copy)]
pub struct Awaited<'a> {
    /// Accepted event ids.
    pub accepted: &'a BTreeSet<String>,
    /// Markers of acknowledged poison inputs.
    pub poison: &'a [String],
}

/// Reads the standing of `awaited` from the ledger's tables.
pub async fn standing(probe: &Probe, awaited: Awaited<'_>) -> anyhow::Result<Standing> {
    let accepted = awaited.accepted;
    let rows: Vec<(String, String, bool)> = sqlx::query_as(
        "SELECT event_id, state, state = ANY($1) FROM executions WHERE workflow = 'reservation'",
    )
    .bind(resting_names())
    .fetch_all(probe.pool())
    .await?;
    let mut standing = Standing::default();
    let mut seen = BTreeSet::new();
    for (event, state, resting) in rows {
        if !accepted.contains(&event) {
            continue;
        }
        seen.insert(event);
        if resting {
            standing.resting += 1;
        } else {
            *standing.moving.entry(state).or_default() += 1;
        }
    }
    standing.missing = accepted.len() - seen.len();
    let indexed: Vec<String> = sqlx::query_scalar(
        "SELECT encode(payload, 'escape') FROM dead_letters WHERE stage = 'ingest'",
    )
    .fetch_all(probe.pool())
    .await?;
    standing.poison_pending = awaited
        .poison
        .iter()
        .filter(|m| !indexed.iter().any(|p| p.contains(m.as_str())))
        .count();
    Ok(standing)
}

/// Polls until settled, or until nothing changed for `stall`, or `limit`.
pub async fn settle(
    probe: &Probe,
    awaited: Awaited<'_>,
    stall: Duration,
    limit: Duration,
    log: &Log,
) -> Standing {
    let start = Instant::now();
    let mut last_change = Instant::now();
    let mut last = (usize::MAX, usize::MAX);
    let mut last_log = Instant::now();
    loop {
        let now = match standing(probe, awaited).await {
            Ok(standing) => standing,
            Err(err) => {
                log.line(format!("drain: ledger database unreadable: {err:#}"));
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        if now.settled() {
            log.line(format!(
                "drain: all {} accepted events at rest after {:.0}s",
                now.resting,
                start.elapsed().as_secs_f64()
            ));
            return now;
        }
        if now.progress() != last {
            last = now.progress();
            last_change = Instant::now();
        }
        if last_log.elapsed() > Duration::from_secs(10) {
            last_log = Instant::now();
            log.line(format!(
                "drain: {} at rest, {} missing, moving {:?}, {} poison inputs not indexed",
                now.resting, now.missing, now.moving, now.poison_pending
            ));
        }
        if last_change.elapsed() > stall || start.elapsed() > limit {
            log.line(format!(
                "drain: gave up waiting: {} at rest, {} missing, moving {:?}, {} poison pending",
                now.resting, now.missing, now.moving, now.poison_pending
            ));
            return now;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
