//! The drift monitor over hand-made outputs and a hand-driven clock.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sluice_core::WorkflowSpec;
use sluice_core::pipeline::Interpretation;
use sluice_core::workflow::{DriftRates, DriftSignal, DriftSpec};

use super::DriftMonitor;
use crate::rules::Policy;

fn monitor() -> DriftMonitor {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows/reservation");
    let mut spec = WorkflowSpec::load(&dir).expect("reservation spec");
    spec.gate.drift = Some(DriftSpec {
        window_s: 60,
        min_samples: 10,
        fields: vec!["time".into(), "party_size".into()],
        low_confidence_below: Some(0.8),
        max_increase: 0.25,
        baseline: DriftRates {
            empty: Some(0.05),
            ..Default::default()
        },
        field_baseline: [(
            "party_size".to_owned(),
            DriftRates {
                empty: Some(0.5),
                ..Default::default()
            },
        )]
        .into(),
    });
    DriftMonitor::new(&[Policy::new(spec).expect("policy")])
}

fn output(time: Value, time_confidence: f64, failed: &[&str]) -> Interpretation {
    Interpretation {
        contract: json!({ "party_size": 2, "time": time }),
        confidence: 0.9,
        field_confidence: [("time".to_owned(), time_confidence)].into(),
        proposed_action: None,
        backend: "fake".into(),
        model: None,
        prompt_version: "v1".into(),
        prompt_sha256: String::new(),
        usage: None,
        latency_ms: 1,
        fallback_reason: None,
        carried_over: Vec::new(),
        schema_failures: failed.iter().map(|f| (*f).to_owned()).collect(),
        context: Vec::new(),
    }
}

#[test]
fn a_rising_empty_rate_alarms_once_it_passes_baseline_plus_margin() {
    let drift = monitor();
    let t0 = Instant::now();
    let good = output(json!("21:00"), 0.95, &[]);
    let empty = output(json!(""), 0.95, &[]);
    for _ in 0..7 {
        drift.observe("reservation", &good, t0);
    }
    // 3 empty of 10 = 0.30 = baseline 0.05 + 0.25: at the limit, no alarm.
    for _ in 0..3 {
        drift.observe("reservation", &empty, t0);
    }
    assert!(drift.alarms("reservation", t0, None).is_empty());
    // 4 of 11 = 0.36 > 0.30: the alarm, on `time` only.
    drift.observe("reservation", &empty, t0);
    let alarms = drift.alarms("reservation", t0, None);
    assert_eq!(alarms.len(), 1, "{alarms:?}");
    let alarm = &alarms[0];
    assert_eq!(
        (alarm.field.as_str(), alarm.signal),
        ("time", DriftSignal::Empty)
    );
    assert_eq!(alarm.samples, 11);
    assert!((alarm.baseline - 0.05).abs() < 1e-9);
    assert!((alarm.rate - 4.0 / 11.0).abs() < 1e-9);
}

#[test]
fn too_few_samples_never_alarm_and_old_ones_leave_the_window() {
    let drift = monitor();
    let t0 = Instant::now();
    let empty = output(Value::Null, 0.95, &[]);
    for _ in 0..9 {
        drift.observe("reservation", &empty, t0);
    }
    assert!(
        drift.alarms("reservation", t0, None).is_empty(),
        "9 < min_samples"
    );
    drift.observe("reservation", &empty, t0);
    assert_eq!(drift.alarms("reservation", t0, None).len(), 1);
    let later = t0 + Duration::from_secs(61);
    assert!(
        drift.alarms("reservation", later, None).is_empty(),
        "window passed"
    );
}

#[test]
fn low_confidence_and_schema_failures_are_counted_per_field() {
    let drift = monitor();
    let t0 = Instant::now();
    for _ in 0..10 {
        drift.observe(
            "reservation",
            &output(json!("21:00"), 0.5, &["party_size"]),
            t0,
        );
    }
    let mut seen: Vec<(String, DriftSignal)> = drift
        .alarms("reservation", t0, None)
        .into_iter()
        .map(|a| (a.field, a.signal))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("party_size".to_owned(), DriftSignal::SchemaFailure),
            ("time".to_owned(), DriftSignal::LowConfidence),
        ]
    );
    // A whole answer that failed counts against every watched field.
    let drift = monitor();
    for _ in 0..10 {
        drift.observe("reservation", &output(json!("21:00"), 0.95, &["*"]), t0);
    }
    assert_eq!(drift.alarms("reservation", t0, None).len(), 2);
}

#[test]
fn since_counts_only_newer_outputs_and_undeclared_workflows_are_ignored() {
    let drift = monitor();
    let t0 = Instant::now();
    for _ in 0..10 {
        drift.observe("reservation", &output(json!(""), 0.95, &[]), t0);
    }
    let t1 = t0 + Duration::from_secs(5);
    assert!(drift.alarms("reservation", t1, Some(t1)).is_empty());
    drift.observe("other", &output(json!(""), 0.95, &[]), t0);
    assert!(drift.alarms("other", t0, None).is_empty());
}
