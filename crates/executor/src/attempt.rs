//! Calling the target: quick in-process retries with `backon`, and lease
//! heartbeats while a slow call runs.

use std::future::Future;

use backon::{BackoffBuilder as _, ExponentialBuilder};
use sluice_core::metrics::RETRIES;
use sluice_core::{FailureClass, Stage};

use crate::action::{Action, Step};
use crate::connector::Called;
use crate::service::Inner;

/// The last answer and how many calls it took.
pub(crate) struct Attempted {
    pub(crate) called: Called,
    pub(crate) calls: u64,
}

/// Calls the target up to `budget` times, retrying temporary failures (and
/// ambiguous ones on targets that honour the key) with jittered exponential
/// delays from the action's retry policy.
pub(crate) async fn quick_retries(inner: &Inner, action: &Action<'_>, budget: u64) -> Attempted {
    let policy = &action.spec.retry;
    let mut delays = ExponentialBuilder::default()
        .with_jitter()
        .with_min_delay(policy.initial_delay())
        .with_max_delay(policy.max_delay())
        .with_max_times(usize::try_from(budget.saturating_sub(1)).unwrap_or(0))
        .build();
    let mut calls = 0;
    loop {
        let called = match &action.reverts {
            None => {
                inner
                    .connectors
                    .call(action.settings, &action.key, &action.body)
                    .await
            }
            Some(effect) => {
                inner
                    .connectors
                    .revert(action.settings, effect, &action.key)
                    .await
            }
        };
        calls += 1;
        let again = match &called {
            Called::Failed { class, .. } => *class == FailureClass::Temporary,
            Called::Ambiguous { .. } => action.settings.honours_keys,
            Called::Applied(_) => false,
        };
        if !again || calls >= budget {
            return Attempted { called, calls };
        }
        let Some(delay) = delays.next() else {
            return Attempted { called, calls };
        };
        tracing::info!(calls, ?delay, "temporary failure; retrying in process");
        count_retry(action);
        tokio::time::sleep(delay).await;
    }
}

/// Counts one more try of `action`'s integration (in process, or by
/// redelivery after a recoverable failure).
pub(crate) fn count_retry(action: &Action<'_>) {
    metrics::counter!(RETRIES.name,
        "stage" => Stage::Execute.as_str(),
        "workflow" => action.envelope.workflow.clone(),
        "integration" => action.spec.name.clone())
    .increment(1);
}

/// Runs `work` while renewing the key's lease every third of it, so a slow
/// target never makes a live holder look dead.
pub(crate) async fn with_heartbeat<F: Future>(
    inner: &Inner,
    key: &str,
    token: i64,
    work: F,
) -> F::Output {
    tokio::pin!(work);
    let every = inner.lease / 3;
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            out = &mut work => return out,
            _ = ticker.tick() => {
                if let Err(err) = inner.ledger.heartbeat(key, token, inner.lease).await {
                    // A stale token means someone took over; `Complete` will
                    // be refused and the delivery retried.
                    tracing::warn!(error = %err, "lease heartbeat failed");
                }
            }
        }
    }
}

/// The duplicate-effect mutant ([`crate::Failpoint::SkipLedgerGuard`]):
/// calls the target although the ledger said not to, and reports the action
/// done without touching the key.
pub(crate) async fn mutant_repeat(inner: &Inner, action: &Action<'_>) -> Step {
    tracing::warn!("MUTANT: calling the target despite the ledger's answer");
    match quick_retries(inner, action, 1).await.called {
        Called::Applied(applied) => Step::Done(action.record(&applied, false)),
        _ => Step::Wait(std::time::Duration::from_millis(500)),
    }
}
