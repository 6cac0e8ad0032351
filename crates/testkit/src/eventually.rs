//! Polling assertions with a deadline.

use std::future::Future;
use std::time::Duration;

use anyhow::{Context as _, anyhow};
use tokio::time::{Instant, sleep};

/// Polls `probe` until it returns `Ok(value)` or `timeout` passes, then
/// returns the value or the last error, labelled with `what`.
///
/// Use it wherever a test waits for something asynchronous to become true;
/// it finishes as soon as the condition holds, so it is both faster and less
/// flaky than a fixed sleep.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(10);
    loop {
        match probe().await {
            Ok(value) => return Ok(value),
            Err(err) if Instant::now() >= deadline => {
                return Err(err).with_context(|| format!("{what}: still false after {timeout:?}"));
            }
            Err(_) => {
                sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(200));
            }
        }
    }
}

/// Turns a boolean into the `Result` that [`eventually`] polls.
pub fn check(condition: bool, message: impl FnOnce() -> String) -> anyhow::Result<()> {
    if condition {
        Ok(())
    } else {
        Err(anyhow!(message()))
    }
}
