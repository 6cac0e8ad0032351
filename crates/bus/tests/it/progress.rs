//! (g) In-progress acks keep a handler longer than `ack_wait` from being
//! redelivered.

use std::time::Duration;

use sluice_bus::{Delivery, HandlerError, Outcome};

use crate::common::{self, Env, Recorder};

#[tokio::test]
async fn long_handler_is_not_redelivered() -> anyhow::Result<()> {
    // ack_wait 1s; the handler takes 3.5s.
    let env = Env::new(common::consumer_settings(1000, 5)).await?;
    let recorder = Recorder::default();
    let rec = recorder.clone();
    let handler = move |d: Delivery| {
        let rec = rec.clone();
        async move {
            rec.record(&d);
            tokio::time::sleep(Duration::from_millis(3500)).await;
            Ok::<_, HandlerError>(Outcome::Done)
        }
    };
    let running = env.spawn_loop(common::options(), handler).await?;
    env.publish(0).await?;

    env.drained(Duration::from_secs(10)).await?;
    // A redelivery would show up within one more ack_wait.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    running.stop(Duration::from_secs(10)).await?;
    let calls = recorder.calls();
    assert_eq!(calls.len(), 1, "redelivered while in progress: {calls:?}");
    assert_eq!(env.consumer_info().await?.num_redelivered, 0);
    env.nats.cleanup().await
}
