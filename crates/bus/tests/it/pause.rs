//! (e) A paused consumer delivers nothing; after resume everything arrives.

use std::time::Duration;

use sluice_bus::{Delivery, HandlerError, Outcome};
use sluice_testkit::eventually::{check, eventually};

use crate::common::{self, Env, Recorder, STAGE, WORKFLOW};

#[tokio::test]
async fn paused_consumer_delivers_nothing_and_resumes_without_loss() -> anyhow::Result<()> {
    let env = Env::new(common::consumer_settings(2000, 5)).await?;
    let until = chrono::Utc::now() + chrono::Duration::hours(1);
    let state = env.bus.pause_stage(STAGE, WORKFLOW, until).await?;
    assert!(state.paused);
    assert!(env.consumer_info().await?.paused);

    let recorder = Recorder::default();
    let rec = recorder.clone();
    let handler = move |d: Delivery| {
        let rec = rec.clone();
        async move {
            rec.record(&d);
            Ok::<_, HandlerError>(Outcome::Done)
        }
    };
    let running = env.spawn_loop(common::options(), handler).await?;
    for i in 0..5 {
        env.publish(i).await?;
    }

    // Nothing may arrive while paused: watch a window several pull cycles long.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(recorder.len(), 0, "a paused consumer delivered");
    assert_eq!(env.consumer_info().await?.num_pending, 5);

    let state = env.bus.resume_stage(STAGE, WORKFLOW).await?;
    assert!(!state.paused);
    eventually(
        "all delivered after resume",
        Duration::from_secs(10),
        || async {
            check(recorder.per_event().len() == 5, || {
                format!("{:?}", recorder.per_event())
            })
        },
    )
    .await?;
    env.drained(Duration::from_secs(5)).await?;
    running.stop(Duration::from_secs(10)).await?;
    assert!(recorder.per_event().values().all(|n| *n == 1));
    env.nats.cleanup().await
}
