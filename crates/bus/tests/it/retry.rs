//! (c) `Retry { after }` is not redelivered sooner than `after`.

use std::time::Duration;

use sluice_bus::{Delivery, HandlerError, Outcome};

use crate::common::{self, Env, Recorder};

#[tokio::test]
async fn retry_is_redelivered_no_sooner_than_the_delay() -> anyhow::Result<()> {
    let env = Env::new(common::consumer_settings(5000, 5)).await?;
    let recorder = Recorder::default();
    let rec = recorder.clone();
    let handler = move |d: Delivery| {
        let rec = rec.clone();
        async move {
            rec.record(&d);
            Ok::<_, HandlerError>(if d.delivered == 1 {
                Outcome::retry_after(Duration::from_secs(1))
            } else {
                Outcome::Done
            })
        }
    };
    let running = env.spawn_loop(common::options(), handler).await?;
    env.publish(0).await?;

    sluice_testkit::eventually("second delivery", Duration::from_secs(10), || async {
        sluice_testkit::eventually::check(recorder.len() >= 2, || {
            format!("{} deliveries so far", recorder.len())
        })
    })
    .await?;
    env.drained(Duration::from_secs(5)).await?;
    running.stop(Duration::from_secs(10)).await?;

    let calls = recorder.calls();
    assert_eq!(calls.len(), 2, "Done must end redelivery: {calls:?}");
    assert_eq!((calls[0].delivered, calls[1].delivered), (1, 2));
    let gap = calls[1].at - calls[0].at;
    // Lower bound only: the server may deliver later, never sooner.
    assert!(gap >= Duration::from_secs(1), "redelivered after {gap:?}");
    assert!(gap < Duration::from_secs(8), "redelivered after {gap:?}");

    env.nats.cleanup().await
}

#[tokio::test]
async fn handler_errors_and_panics_are_retried() -> anyhow::Result<()> {
    let env = Env::new(common::consumer_settings(5000, 5)).await?;
    let recorder = Recorder::default();
    let rec = recorder.clone();
    let handler = move |d: Delivery| {
        let rec = rec.clone();
        async move {
            rec.record(&d);
            match d.delivered {
                1 => Err::<Outcome, HandlerError>("target timed out".into()),
                2 => panic!("handler bug"),
                _ => Ok(Outcome::Done),
            }
        }
    };
    let running = env.spawn_loop(common::options(), handler).await?;
    env.publish(0).await?;
    sluice_testkit::eventually("third delivery", Duration::from_secs(10), || async {
        sluice_testkit::eventually::check(recorder.len() >= 3, || {
            format!("{} deliveries so far", recorder.len())
        })
    })
    .await?;
    env.drained(Duration::from_secs(5)).await?;
    running.stop(Duration::from_secs(10)).await?;
    assert_eq!(recorder.len(), 3);
    env.nats.cleanup().await
}
