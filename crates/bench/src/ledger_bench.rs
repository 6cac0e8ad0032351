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
    /// Pairs that completed per second.
    pub pairs_per_s: f64,
    /// Calls that failed.
    pub errors: u64,
}

/// Starts a ledger on `database_url` with a pool of `pool` connections and
/// runs `concurrency` callers for `duration`.
pub async fn run(
    database_url: &str,
    pool: u32,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<LedgerRun> {
    let mut options = sluice_ledger::Options::new(database_url);
    options.migrate_on_start = true;
    options.max_connections = pool;
    let listener = sluice_ledger::bind("127.0.0.1:0".parse()?).await?;
    let addr = listener.local_addr()?;
    let ledger = sluice_ledger::Ledger::new(options)
        .await
        .context("starting the ledger")?;
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(ledger.serve(listener, shutdown.clone()));
    let client = LedgerClient::connect(ClientOptions::new(format!("http://{addr}")))?;

    let (pairs, errors) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let start = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let (client, pairs, errors) = (client.clone(), pairs.clone(), errors.clone());
        workers.spawn(async move {
            let mut i = 0u64;
            while start.elapsed() < duration {
                i += 1;
                match pair(&client, &format!("bench:{worker}:{i}")).await {
                    Ok(()) => pairs.fetch_add(1, Ordering::Relaxed),
                    Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        });
    }
    while workers.join_next().await.is_some() {}
    let elapsed = start.elapsed().as_secs_f64();
    shutdown.cancel();
    let _ = server.await;
    Ok(LedgerRun {
        concurrency,
        pool,
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
