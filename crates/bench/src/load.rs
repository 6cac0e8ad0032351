//! Load generators: closed loop (a fixed number of executions in flight)
//! and open loop (executions started at a fixed rate, whatever the system
//! does), over any [`System`] that announces finished executions on NATS.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use futures::future::BoxFuture;
use sluice_core::headers;
use tokio::sync::{Mutex, oneshot};
use tokio::task::JoinSet;

/// How long one execution may take before the round counts it as lost.
const LOST_AFTER: Duration = Duration::from_secs(30);

/// Something that runs executions, each announced when it finishes with
/// its id in `Sluice-Execution-Id`.
pub trait System: Send + Sync {
    /// The id execution `n` is announced under, known before it starts.
    fn id_of(&self, n: u64) -> String;
    /// Starts execution `n`; resolves once the broker stored the input.
    fn submit(&self, n: u64) -> BoxFuture<'_, anyhow::Result<()>>;
}

/// Matches completion announcements to the executions waiting for them.
#[derive(Clone, Default)]
pub struct Completions {
    waiting: Arc<Mutex<HashMap<String, oneshot::Sender<Instant>>>>,
}

impl Completions {
    /// Follows the announcements on `subject` until the subscription ends.
    pub async fn follow(client: &async_nats::Client, subject: String) -> anyhow::Result<Self> {
        let mut subscription = client.subscribe(subject).await?;
        let this = Self::default();
        let waiting = this.waiting.clone();
        tokio::spawn(async move {
            while let Some(message) = subscription.next().await {
                let at = Instant::now();
                let Some(id) = message
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(headers::EXECUTION_ID))
                else {
                    continue;
                };
                if let Some(tx) = waiting.lock().await.remove(id.as_str()) {
                    let _ = tx.send(at);
                }
            }
        });
        Ok(this)
    }

    /// Registers interest in `id` before it can possibly finish.
    async fn expect(&self, id: String) -> oneshot::Receiver<Instant> {
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().await.insert(id, tx);
        rx
    }

    async fn forget(&self, id: &str) {
        self.waiting.lock().await.remove(id);
    }
}

/// What one load round measured.
#[derive(Debug, Clone, Default)]
pub struct Round {
    /// Executions that finished.
    pub done: u64,
    /// Executions that did not finish within [`LOST_AFTER`] (or failed to
    /// start).
    pub lost: u64,
    /// From the first submit to the last completion.
    pub elapsed: Duration,
    /// Latency of each finished execution, from its (scheduled) start.
    pub latencies: Vec<Duration>,
}

impl Round {
    /// Finished executions per second.
    pub fn throughput(&self) -> f64 {
        self.done as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Runs one execution from `scheduled` to its announcement.
async fn one<S: System>(
    system: &S,
    completions: &Completions,
    n: u64,
    scheduled: Instant,
) -> Option<Duration> {
    let (id, rx) = start(system, completions, n).await?;
    match tokio::time::timeout(LOST_AFTER, rx).await {
        Ok(Ok(at)) => Some(at.saturating_duration_since(scheduled)),
        _ => {
            completions.forget(&id).await;
            None
        }
    }
}

/// Submits `n`, registered before the submit so that an announcement
/// racing the submit's return is not missed.
async fn start<S: System>(
    system: &S,
    completions: &Completions,
    n: u64,
) -> Option<(String, oneshot::Receiver<Instant>)> {
    let id = system.id_of(n);
    let rx = completions.expect(id.clone()).await;
    match system.submit(n).await {
        Ok(_) => Some((id, rx)),
        Err(err) => {
            tracing::warn!(error = %err, "submit failed");
            completions.forget(&id).await;
            None
        }
    }
}

/// `concurrency` workers, each starting the next execution as soon as its
/// last one finished, for `duration`.
pub async fn closed_loop<S: System + 'static>(
    system: Arc<S>,
    completions: &Completions,
    first: &AtomicU64,
    concurrency: usize,
    duration: Duration,
) -> Round {
    let start = Instant::now();
    let mut workers = JoinSet::new();
    let next = Arc::new(AtomicU64::new(first.load(Ordering::Relaxed)));
    for _ in 0..concurrency {
        let (system, completions, next) = (system.clone(), completions.clone(), next.clone());
        workers.spawn(async move {
            let mut round = Round::default();
            while start.elapsed() < duration {
                let n = next.fetch_add(1, Ordering::Relaxed);
                match one(system.as_ref(), &completions, n, Instant::now()).await {
                    Some(latency) => {
                        round.done += 1;
                        round.latencies.push(latency);
                    }
                    None => round.lost += 1,
                }
            }
            round
        });
    }
    let mut total = collect(workers).await;
    total.elapsed = start.elapsed();
    first.store(next.load(Ordering::Relaxed), Ordering::Relaxed);
    total
}

/// Starts `rate` executions per second for `duration`, each at its
/// scheduled time, and waits for all of them. Latency counts from the
/// scheduled start, so a stalled system cannot hide its queue.
pub async fn open_loop<S: System + 'static>(
    system: Arc<S>,
    completions: &Completions,
    first: &AtomicU64,
    rate: u32,
    duration: Duration,
) -> Round {
    let start = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let count = (duration.as_secs_f64() * f64::from(rate)).round() as u64;
    let base = first.fetch_add(count, Ordering::Relaxed);
    let mut runs = JoinSet::new();
    for i in 0..count {
        let scheduled = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(scheduled.into()).await;
        let (system, completions) = (system.clone(), completions.clone());
        runs.spawn(async move {
            let latency = one(system.as_ref(), &completions, base + i, scheduled).await;
            let mut round = Round::default();
            match latency {
                Some(l) => {
                    round.done = 1;
                    round.latencies.push(l);
                }
                None => round.lost = 1,
            }
            round
        });
    }
    let mut total = collect(runs).await;
    total.elapsed = start.elapsed();
    total
}

async fn collect(mut set: JoinSet<Round>) -> Round {
    let mut total = Round::default();
    while let Some(joined) = set.join_next().await {
        if let Ok(round) = joined {
            total.done += round.done;
            total.lost += round.lost;
            total.latencies.extend(round.latencies);
        }
    }
    total
}
