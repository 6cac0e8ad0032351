//! The eval engine over the shipped workflows and their cases.
#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed harness step should stop the test loudly

mod broken;
mod crm;
mod shipped;

use std::path::{Path, PathBuf};

use sluice_eval::{Baseline, Case, Report, Thresholds};

/// The shipped reservation workflow.
pub fn reservation() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows/reservation")
}

/// Its frozen cases.
pub fn cases() -> Vec<Case> {
    sluice_eval::load_cases(&reservation().join("eval")).unwrap()
}

/// The committed baseline of `backend`.
pub fn baseline(backend: &str) -> Baseline {
    let path = reservation().join(format!("eval/baseline.{backend}.json"));
    Baseline::load(&path)
        .unwrap()
        .expect("a committed baseline")
}

/// The judgement CI makes: no drop of more than two points.
pub fn failures(report: &Report, baseline: &Baseline) -> Vec<String> {
    let thresholds = Thresholds {
        max_regression: 0.02,
        min_accuracy: None,
    };
    sluice_eval::judge(report, &report.score(), Some(baseline), thresholds).failures
}
