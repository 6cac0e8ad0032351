//! Graceful shutdown: signals to a `CancellationToken`, and bounded draining.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::Error;

/// A token cancelled on the first SIGTERM or SIGINT.
///
/// Kubernetes sends SIGTERM and waits `terminationGracePeriodSeconds` before
/// SIGKILL; services stop pulling new work when the token fires and drain what
/// they hold within that time.
pub fn on_signal() -> Result<CancellationToken, Error> {
    use tokio::signal::unix::{SignalKind, signal};

    let token = CancellationToken::new();
    let mut term = signal(SignalKind::terminate()).map_err(Error::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(Error::Signal)?;
    let cancel = token.clone();
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "shutting down: draining in-flight work");
        cancel.cancel();
    });
    Ok(token)
}

/// Closes `tracker` and waits for its tasks for at most `grace`. Returns
/// whether everything finished in time.
pub async fn drain(tracker: &TaskTracker, grace: Duration) -> bool {
    tracker.close();
    let finished = tokio::time::timeout(grace, tracker.wait()).await.is_ok();
    if !finished {
        tracing::warn!(
            remaining = tracker.len(),
            grace_ms = grace.as_millis() as u64,
            "drain grace period over; abandoning the remaining tasks"
        );
    }
    finished
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drain_waits_for_tasks_that_finish_in_time() {
        let tracker = TaskTracker::new();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        tracker.spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        assert!(drain(&tracker, Duration::from_secs(5)).await);
        assert!(done.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test]
    async fn drain_gives_up_after_the_grace_period() {
        let tracker = TaskTracker::new();
        tracker.spawn(tokio::time::sleep(Duration::from_secs(60)));
        let started = tokio::time::Instant::now();
        assert!(!drain(&tracker, Duration::from_millis(100)).await);
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
