//! What is in flight right now, read from the ledger's tables: logged with
//! every fault, so the log shows each one landing while work was under way.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sluice_core::State;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

/// States an execution may rest in at the end of a run: terminal, or
/// explicitly parked for a person or an SRE (a review item, a dead letter).
pub fn resting(state: State) -> bool {
    state.is_terminal()
        || matches!(
            state,
            State::NeedsReview | State::HumanReviewPending | State::DeadLettered
        )
}

/// The names of the resting states.
pub fn resting_names() -> Vec<String> {
    State::ALL
        .iter()
        .filter(|s| resting(**s))
        .map(|s| s.as_str().to_owned())
        .collect()
}

/// Counts at one instant.
#[derive(Debug, Clone, Copy, Default)]
pub struct InFlight {
    /// Executions recorded so far.
    pub executions: i64,
    /// Executions not yet in a resting state.
    pub in_progress: i64,
    /// Idempotency keys held by someone (lease alive or expired).
    pub keys_held: i64,
}

/// Reads the ledger's database directly (never through the ledger, which
/// may be the process that was just killed).
#[derive(Debug, Clone)]
pub struct Probe {
    pool: PgPool,
}

impl Probe {
    /// A lazy pool on `url`.
    pub fn new(url: &str) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy(url)?;
        Ok(Self { pool })
    }

    /// The pool (for the invariant checks).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The counts now, or `None` while the database is down.
    pub async fn in_flight(&self) -> Option<InFlight> {
        let query = sqlx::query_as::<_, (i64, i64, i64)>(
            "SELECT (SELECT count(*) FROM executions),
                    (SELECT count(*) FROM executions WHERE NOT (state = ANY($1))),
                    (SELECT count(*) FROM idempotency_keys WHERE state = 'in_progress')",
        )
        .bind(resting_names())
        .fetch_one(&self.pool);
        match tokio::time::timeout(Duration::from_secs(3), query).await {
            Ok(Ok((executions, in_progress, keys_held))) => Some(InFlight {
                executions,
                in_progress,
                keys_held,
            }),
            _ => None,
        }
    }
}

/// The latest counts, sampled twice a second in the background so that a
/// fault never waits for a database that may itself be down.
#[derive(Debug, Clone)]
pub struct Sampler {
    last: Arc<Mutex<Option<(Instant, InFlight)>>>,
}

impl Sampler {
    /// Starts sampling `probe` (until the runtime stops).
    pub fn start(probe: Probe) -> Self {
        let last = Arc::new(Mutex::new(None));
        let cell = last.clone();
        tokio::spawn(async move {
            loop {
                if let Some(counts) = probe.in_flight().await {
                    *cell.lock().unwrap_or_else(PoisonError::into_inner) =
                        Some((Instant::now(), counts));
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        Self { last }
    }

    /// `"17 executions in progress, 3 keys held (412 recorded), 0.2s ago"`.
    pub fn describe(&self) -> String {
        let last = *self.last.lock().unwrap_or_else(PoisonError::into_inner);
        match last {
            Some((at, c)) => format!(
                "{} executions in progress, {} keys held ({} recorded), sampled {:.1}s before",
                c.in_progress,
                c.keys_held,
                c.executions,
                at.elapsed().as_secs_f64()
            ),
            None => "in flight: not sampled yet".to_owned(),
        }
    }
}
