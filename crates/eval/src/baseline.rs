//! The last saved accuracy of a backend (`eval/baseline.<backend>.json`)
//! and the judgement of a run against it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::report::{Report, Score};

/// Accuracy differences smaller than this are rounding, not change.
const EPSILON: f64 = 1e-9;

/// A saved run: its accuracy and what produced it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// The workflow.
    pub workflow: String,
    /// The primary backend.
    pub backend: String,
    /// Its model, for model backends.
    #[serde(default)]
    pub model: Option<String>,
    /// The prompt's declared version.
    pub prompt_version: String,
    /// SHA-256 of the prompt template file.
    pub prompt_sha256: String,
    /// Cases run.
    pub cases: usize,
    /// Share of cases with every field correct.
    pub overall: f64,
    /// Accuracy per field.
    pub fields: BTreeMap<String, f64>,
    /// The cases that failed, by id.
    #[serde(default)]
    pub failing: Vec<String>,
}

impl Baseline {
    /// The baseline a run would save.
    pub fn of(report: &Report, score: &Score) -> Self {
        Self {
            workflow: report.workflow.clone(),
            backend: report.backend.clone(),
            model: report.model.clone(),
            prompt_version: report.prompt_version.clone(),
            prompt_sha256: report.prompt_sha256.clone(),
            cases: score.cases,
            overall: score.overall,
            fields: score
                .fields
                .iter()
                .map(|(name, f)| (name.clone(), f.accuracy))
                .collect(),
            failing: report
                .cases
                .iter()
                .filter(|c| !c.passed)
                .map(|c| c.id.clone())
                .collect(),
        }
    }

    /// Reads `path`; `None` when there is no such file.
    pub fn load(path: &Path) -> Result<Option<Self>, Error> {
        let fail = |reason: String| Error::Baseline {
            path: path.display().to_string(),
            reason,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(fail(e.to_string())),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| fail(e.to_string()))
    }

    /// Writes it to `path` as pretty JSON.
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let fail = |reason: String| Error::Baseline {
            path: path.display().to_string(),
            reason,
        };
        let mut text = serde_json::to_string_pretty(self).map_err(|e| fail(e.to_string()))?;
        text.push('\n');
        std::fs::write(path, text).map_err(|e| fail(e.to_string()))
    }
}

/// One accuracy then and now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delta {
    /// `overall` or a field.
    pub name: String,
    /// The baseline's accuracy.
    pub baseline: f64,
    /// This run's.
    pub now: f64,
    /// `now - baseline`.
    pub delta: f64,
}

/// A run against its baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// `overall` first, then every field of the baseline.
    pub deltas: Vec<Delta>,
    /// Cases that pass now and failed then.
    pub newly_passing: Vec<String>,
    /// Cases that fail now and passed then (or are new and fail).
    pub newly_failing: Vec<String>,
    /// The prompt template differs from the baseline's.
    pub prompt_changed: bool,
    /// The model differs from the baseline's.
    pub model_changed: bool,
}

/// Limits a run is judged by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// The largest allowed drop below the baseline (0.02 = two points).
    pub max_regression: f64,
    /// The lowest allowed overall accuracy, if any.
    pub min_accuracy: Option<f64>,
}

/// The verdict on a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judgement {
    /// Against the baseline, if there is one.
    pub comparison: Option<Comparison>,
    /// Every reason the run fails, one line each; empty: it passes.
    pub failures: Vec<String>,
}

/// Judges `score` against `baseline` and `thresholds`.
pub fn judge(
    report: &Report,
    score: &Score,
    baseline: Option<&Baseline>,
    thresholds: Thresholds,
) -> Judgement {
    let mut failures = Vec::new();
    let comparison = baseline.map(|b| compare(report, score, b));
    if let Some(c) = &comparison {
        let dropped: Vec<String> = c
            .deltas
            .iter()
            .filter(|d| d.delta < -thresholds.max_regression - EPSILON)
            .map(|d| {
                format!(
                    "{} {:.1}% → {:.1}%",
                    d.name,
                    d.baseline * 100.0,
                    d.now * 100.0
                )
            })
            .collect();
        if !dropped.is_empty() {
            let mut line = format!(
                "regression beyond {:.1} points against the baseline: {}",
                thresholds.max_regression * 100.0,
                dropped.join(", ")
            );
            if c.prompt_changed {
                line.push_str(" (the prompt changed since the baseline)");
            }
            failures.push(line);
        }
    }
    if let Some(min) = thresholds.min_accuracy
        && score.overall < min - EPSILON
    {
        failures.push(format!(
            "overall accuracy {:.1}% is below --min-accuracy {:.1}%",
            score.overall * 100.0,
            min * 100.0
        ));
    }
    Judgement {
        comparison,
        failures,
    }
}

fn compare(report: &Report, score: &Score, baseline: &Baseline) -> Comparison {
    let delta = |name: &str, then: f64, now: f64| Delta {
        name: name.to_owned(),
        baseline: then,
        now,
        delta: ((now - then) * 10_000.0).round() / 10_000.0,
    };
    let mut deltas = vec![delta("overall", baseline.overall, score.overall)];
    for (name, then) in &baseline.fields {
        // A field no case compares any more cannot regress.
        if let Some(now) = score.fields.get(name) {
            deltas.push(delta(name, *then, now.accuracy));
        }
    }
    let failed_then = |id: &String| baseline.failing.contains(id);
    Comparison {
        deltas,
        newly_passing: report
            .cases
            .iter()
            .filter(|c| c.passed && failed_then(&c.id))
            .map(|c| c.id.clone())
            .collect(),
        newly_failing: report
            .cases
            .iter()
            .filter(|c| !c.passed && !failed_then(&c.id))
            .map(|c| c.id.clone())
            .collect(),
        prompt_changed: baseline.prompt_sha256 != report.prompt_sha256,
        model_changed: baseline.model != report.model,
    }
}
