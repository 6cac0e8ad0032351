//! The ledger alone: `Begin` + `Complete` pairs per second over gRPC, on a
//! fresh key each time, at a fixed concurrency.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use sluice_ledger::{BeginOutcome, BeginRequest, ClientOptions, LedgerClient};
use tokio_util::sync::CancellationToken;

/// What one ledger run measured.
#[derive(Debug, Clone, Copy)]
pub struct LedgerRun {
    /// Concurrent callers.
    pub concurrency: usize,
    /// The ledger's connection pool.
    pub pool: u32,
    /// Whether the ledger group-committed its key writes.
    pub group_commit: bool,
    /// Pairs that completed per second.
    pub pairs_per_s: f64,
    /// Calls that failed.
    pub errors: u64,
}

/// Starts a ledger on `database_url` with a pool of `pool` connections,
/// group commit on or off, and runs `concurrency` callers for `duration`.
pub async fn run(
    database_url: &str,
    pool: u32,
    group_commit: bool,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<LedgerRun> {
    let mut options = sluice_ledger::Options::new(database_url);
    options.migrate_on_start = true;
    options.max_connections = pool;
    options.group_commit = group_commit;
    let listener = sluice_ledger::bind("127.0.0.1:0".parse()?).await?;
    let addr = listener.local_addr()?;
    let ledger = sluice_ledger::Ledger::new(options)
        .await
        .context("starting the ledger")?;
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(ledger.serve(listener, shutdown.clone()));
    let client = LedgerClient::connect(ClientOptions::new(format!("http://{addr}")))?;

    let (pairs, errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    // Runs share a database: each one claims keys of its own, or a later
    // run would find an earlier run's keys completed.
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let run_id: Arc<str> = Arc::from(&run_id[..8]);
    // The first second warms up (connections, prepared statements, the
    // lanes) and is not counted.
    let warm_up = Duration::from_secs(1).min(duration / 4);
    let start = Instant::now();
    let counted_from = start + warm_up;
    let end = counted_from + duration;
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let (client, pairs, errors) = (client.clone(), pairs.clone(), errors.clone());
        let run_id = run_id.clone();
        workers.spawn(async move {
            let mut i = 0u64;
            while Instant::now() < end {
                i += 1;
                let outcome = pair(&client, &format!("bench:{run_id}:{worker}:{i}")).await;
                if Instant::now() < counted_from {
                    continue;
                }
                match outcome {
                    Ok(()) => pairs.fetch_add(1, Ordering::Relaxed),
                    Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        });
    }
    while workers.join_next().await.is_some() {}
    let elapsed = counted_from.elapsed().as_secs_f64();
    shutdown.cancel();
    let _ = server.await;
    Ok(LedgerRun {
        concurrency,
        pool,
        group_commit,
        pairs_per_s: pairs.load(Ordering::Relaxed) as f64 / elapsed,
        errors: errors.load(Ordering::Relaxed),
    })
}

async fn pair(client: &LedgerClient, key: &str) -> anyhow::Result<()> {
    let outcome = client
        .begin(&BeginRequest {
            key: key.to_owned(),
            fingerprint: "sha256:bench".to_owned(),
            owner: "bench".to_owned(),
            lease: Duration::from_secs(30),
            execution_id: None,
            target_honours_keys: false,
            supersede_review: None,
        })
        .await?;
    let BeginOutcome::Started { fencing_token, .. } = outcome else {
        anyhow::bail!("key {key} not started: {outcome:?}");
    };
    client
        .complete(key, fencing_token, Some(serde_json::json!({"ok": true})))
        .await?;
    Ok(())
}
