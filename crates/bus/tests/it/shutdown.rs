//! (f) Stopping a consume loop mid-batch loses nothing and processes nothing
//! twice.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sluice_bus::{ConsumeOptions, Delivery, HandlerError, Outcome};
use sluice_testkit::eventually::{check, eventually};

use crate::common::{self, Env, event_index};

const EVENTS: usize = 20;

/// Completed events, recorded right before the handler returns `Done`.
#[derive(Clone, Default)]
struct Completed(Arc<Mutex<Vec<usize>>>);

impl Completed {
    fn push(&self, i: usize) {
        if let Ok(mut v) = self.0.lock() {
            v.push(i);
        }
    }
    fn all(&self) -> Vec<usize> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

#[tokio::test]
async fn stopping_mid_batch_loses_nothing() -> anyhow::Result<()> {
    let env = Env::new(common::consumer_settings(2000, 10)).await?;
    for i in 0..EVENTS {
        env.publish(i).await?;
    }
    let completed = Completed::default();
    let started = Arc::new(Mutex::new(HashSet::new()));

    // First loop: every fourth event is slow (longer than the grace period).
    let (done, seen) = (completed.clone(), started.clone());
    let slow_handler = move |d: Delivery| {
        let (done, seen) = (done.clone(), seen.clone());
        async move {
            let i = event_index(&d);
            if let Ok(mut s) = seen.lock() {
                s.insert(i);
            }
            let work = if i.is_multiple_of(4) { 4000 } else { 150 };
            tokio::time::sleep(Duration::from_millis(work)).await;
            done.push(i);
            Ok::<_, HandlerError>(Outcome::Done)
        }
    };
    let options = ConsumeOptions {
        concurrency: 6,
        grace: Duration::from_millis(700),
        ..common::options()
    };
    let first = env.spawn_loop(options, slow_handler).await?;
    eventually(
        "some done, a slow one running",
        Duration::from_secs(10),
        || async {
            let slow_running = started
                .lock()
                .map(|s| s.iter().any(|i| i.is_multiple_of(4)))
                .unwrap_or(false);
            let n = completed.all().len();
            check(n >= 3 && slow_running, || format!("{n} done"))
        },
    )
    .await?;
    let stopped = first.stop(Duration::from_secs(5)).await?;
    assert!(
        stopped.abandoned >= 1,
        "slow handlers outlive the grace: {stopped:?}"
    );
    let after_first = completed.all();
    assert!(after_first.len() < EVENTS);

    // A fresh loop (another replica, or the restarted one) gets the rest.
    let done = completed.clone();
    let quick_handler = move |d: Delivery| {
        let done = done.clone();
        async move {
            done.push(event_index(&d));
            Ok::<_, HandlerError>(Outcome::Done)
        }
    };
    let second = env.spawn_loop(common::options(), quick_handler).await?;
    eventually("every event processed", Duration::from_secs(15), || async {
        let distinct: HashSet<usize> = completed.all().into_iter().collect();
        check(distinct.len() == EVENTS, || {
            format!("{} of {EVENTS}", distinct.len())
        })
    })
    .await?;
    env.drained(Duration::from_secs(5)).await?;
    second.stop(Duration::from_secs(5)).await?;

    // Processed-and-acked means never again: each event completed once.
    let all = completed.all();
    let distinct: HashSet<usize> = all.iter().copied().collect();
    assert_eq!(distinct.len(), EVENTS);
    assert_eq!(
        all.len(),
        EVENTS,
        "an acked event was processed twice: {all:?}"
    );
    env.nats.cleanup().await
}
