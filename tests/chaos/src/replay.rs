//! I4's second half: every dead letter replayed twice with the real
//! `sluice dlq replay`, the pipeline left to settle after each round.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use sqlx::PgPool;

use crate::check::Replays;
use crate::drain;
use crate::log::Log;
use crate::probe::Probe;
use crate::setup::{Layout, PREFIX};

/// Entries per `sluice dlq replay` invocation.
const CHUNK: usize = 100;

/// Replays every dead letter twice; returns what happened.
pub async fn twice(
    layout: &Layout,
    probe: &Probe,
    booking: &PgPool,
    awaited: drain::Awaited<'_>,
    log: &Log,
) -> anyhow::Result<Replays> {
    let before: BTreeMap<String, usize> = sqlx::query_as::<_, (Option<String>, i64)>(
        "SELECT idempotency_key, count(*) FROM bookings GROUP BY idempotency_key",
    )
    .fetch_all(booking)
    .await?
    .into_iter()
    .map(|(k, n)| (k.unwrap_or_default(), usize::try_from(n).unwrap_or(0)))
    .collect();
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM dead_letters ORDER BY id")
        .fetch_all(probe.pool())
        .await?;
    let mut replays = Replays {
        entries: ids.len(),
        bookings_before: before,
        ..Replays::default()
    };
    log.line(format!(
        "replays: {} dead letters to replay twice",
        ids.len()
    ));
    if ids.is_empty() {
        return Ok(replays);
    }
    for round in 1..=2 {
        for chunk in ids.chunks(CHUNK) {
            let mut command = Command::new(layout.bin_dir.join("sluice"));
            command
                .args(["--nats-url", &layout.nats_url, "--prefix", PREFIX])
                .args(["--ledger-url", &layout.ledger_url()])
                .args(["dlq", "replay", "--max-replays", "10", "--reason"])
                .arg(format!("chaos invariant I4, round {round}"))
                .args(chunk.iter().map(i64::to_string));
            let output = tokio::task::spawn_blocking(move || command.output()).await??;
            let stdout = String::from_utf8_lossy(&output.stdout);
            let last = stdout.lines().last().unwrap_or_default().to_owned();
            if output.status.success() {
                log.line(format!("replays: round {round}: {last}"));
            } else {
                let error = String::from_utf8_lossy(&output.stderr).trim().to_owned();
                log.line(format!("replays: round {round} FAILED: {error}"));
                replays.errors.push(format!("round {round}: {error}"));
            }
        }
        replays.rounds += 1;
        let limit = Duration::from_secs(300);
        drain::settle(probe, awaited, Duration::from_secs(30), limit, log).await;
    }
    Ok(replays)
}
