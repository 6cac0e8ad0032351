//! Output drift: a rising share of empty `time` fields raises the drift
//! rate and, once it passes baseline + margin, trips the breaker.

use std::time::Duration;

use sluice_bus::{SwitchState, Switches};
use sluice_core::State;
use sluice_testkit::eventually::{check, eventually};

use crate::common::{Env, contract, edited_workflows, envelope, happy};

const DRIFT: &str = r#"
[gate.drift]
window_s = 300
min_samples = 4
fields = ["time"]
max_increase = 0.4
baseline = { empty = 0.0 }

[gate.breaker]
window_s = 60
min_samples = 1000
"#;

fn rate_line(metrics: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| {
            l.starts_with("sluice_drift_rate{")
                && l.contains(r#"field="time""#)
                && l.contains(r#"signal="empty""#)
        })
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn a_rising_empty_rate_raises_the_metric_and_trips_the_breaker_at_the_threshold() {
    let metrics = sluice_runtime::health::metrics_handle();
    let workflows = edited_workflows(|spec| {
        // The shipped drift section is replaced by the test's.
        let start = spec.find("[gate.drift]").expect("shipped drift section");
        // It ends where the next table starts.
        let end = spec[start + 1..]
            .find("\n[")
            .map_or(spec.len(), |e| start + 1 + e);
        format!("{}{DRIFT}{}", &spec[..start], &spec[end..])
    });
    let env = Env::start_with(workflows).await;
    let switches = Switches::open(&env.bus).await.unwrap();
    let is_on = || async {
        let s = switches.get("reservation").await.unwrap();
        s.is_none_or(|s| s.switch.state == SwitchState::On)
    };

    for _ in 0..4 {
        let e = happy();
        env.submit(&e).await;
        env.wait_for(&e, State::AutoActionPending).await;
    }
    let mut empty = contract();
    empty.as_object_mut().unwrap().remove("time");
    // 1 of 5 (0.20), then 2 of 6 (0.33): at most baseline 0 + 0.4, still on.
    for n in 1..=2 {
        let e = envelope(
            "a table for four tomorrow",
            empty.clone(),
            0.95,
            "create_booking",
        );
        env.submit(&e).await;
        env.wait_for(&e, State::ClarificationRequested).await;
        let rate = rate_line(&metrics.render()).expect("drift rate published");
        assert!(
            (rate - f64::from(n) / f64::from(4 + n)).abs() < 1e-9,
            "rate {rate}"
        );
        tokio::time::sleep(Duration::from_millis(600)).await; // three breaker checks
        assert!(is_on().await, "tripped below the threshold at {n} empty");
    }
    // 3 of 7 (0.43) > 0.4: the alarm, and the breaker switches the workflow off.
    let e = envelope("a table for four tomorrow", empty, 0.95, "create_booking");
    env.submit(&e).await;
    env.wait_for(&e, State::ClarificationRequested).await;
    let rendered = metrics.render();
    assert!(
        rendered
            .lines()
            .any(|l| l.starts_with("sluice_drift_alarm{")
                && l.contains(r#"field="time""#)
                && l.contains(r#"signal="empty""#)
                && l.ends_with(" 1")),
        "no drift alarm in:\n{rendered}"
    );
    let tripped = eventually(
        "the breaker trips on drift",
        Duration::from_secs(10),
        || async {
            let s = switches.get("reservation").await?;
            let s = s.map(|s| s.switch);
            check(
                s.as_ref().is_some_and(|s| s.state == SwitchState::Off),
                || format!("{s:?}"),
            )?;
            Ok(s)
        },
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(tripped.source, "breaker");
    assert!(
        tripped
            .reason
            .contains("drift rate of time empty 0.43 > 0.40"),
        "{}",
        tripped.reason
    );
    env.stop().await;
}
