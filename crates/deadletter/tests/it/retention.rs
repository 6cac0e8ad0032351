//! The start-up check: the ledger must keep idempotency keys for at least
//! the dead-letter stream's max age (one hour here) plus the replay horizon.

use std::time::Duration;

use sluice_deadletter::Service;

use crate::common::{Env, Running};

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn a_key_retention_shorter_than_the_replay_window_is_refused() -> anyhow::Result<()> {
    let env = Env::with_ledger(|ledger| ledger.key_retention = 2 * HOUR).await?;
    let mut options = env.service_options();
    options.replay_horizon = 3 * HOUR;
    let refused = Service::new(options, Vec::new())
        .await
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        refused.as_deref(),
        Some(
            "ledger key retention 2h is shorter than the dead-letter stream's max age 1h plus \
             the replay horizon 3h (4h): set SLUICE_LEDGER_KEY_RETENTION to at least 4h, or \
             shorten the stream's max age or replay_horizon"
        )
    );
    env.nats.cleanup().await
}

#[tokio::test]
async fn a_retention_that_covers_the_window_starts() -> anyhow::Result<()> {
    let env = Env::with_ledger(|ledger| ledger.key_retention = 2 * HOUR).await?;
    let mut options = env.service_options();
    options.replay_horizon = HOUR;
    let service = Service::new(options, Vec::new()).await?;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(service.run(shutdown.clone()));
    Running { shutdown, task }.stop().await?;
    env.nats.cleanup().await
}
