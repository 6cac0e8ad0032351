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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::FieldScore;

    fn report() -> Report {
        Report {
            workflow: "reservation".into(),
            backend: "fake".into(),
            model: Some("scripted".into()),
            prompt_version: "v1".into(),
            prompt_sha256: "new".into(),
            cases: Vec::new(),
        }
    }

    fn score(overall: f64, date: f64) -> Score {
        let field = FieldScore {
            correct: 0,
            total: 50,
            accuracy: date,
        };
        Score {
            cases: 50,
            passed: 0,
            overall,
            fields: BTreeMap::from([("date".to_owned(), field)]),
        }
    }

    fn baseline() -> Baseline {
        Baseline {
            prompt_sha256: "old".into(),
            ..Baseline::of(&report(), &score(0.96, 0.98))
        }
    }

    fn limits(min: Option<f64>) -> Thresholds {
        Thresholds {
            max_regression: 0.02,
            min_accuracy: min,
        }
    }

    #[test]
    fn a_drop_within_the_threshold_passes() {
        let j = judge(
            &report(),
            &score(0.94, 0.96),
            Some(&baseline()),
            limits(None),
        );
        assert_eq!(j.failures, Vec::<String>::new());
        let deltas = j.comparison.map(|c| c.deltas).unwrap_or_default();
        assert_eq!(deltas[0].name, "overall");
        assert_eq!(deltas[0].delta, -0.02);
    }

    #[test]
    fn a_drop_beyond_it_names_the_fields_and_the_prompt_change() {
        let j = judge(
            &report(),
            &score(0.96, 0.90),
            Some(&baseline()),
            limits(None),
        );
        assert_eq!(
            j.failures,
            [
                "regression beyond 2.0 points against the baseline: date 98.0% → 90.0% \
              (the prompt changed since the baseline)"
            ]
        );
    }

    #[test]
    fn without_a_baseline_only_the_minimum_counts() {
        assert!(
            judge(&report(), &score(0.5, 0.5), None, limits(None))
                .failures
                .is_empty()
        );
        let j = judge(&report(), &score(0.5, 0.5), None, limits(Some(0.9)));
        assert_eq!(
            j.failures,
            ["overall accuracy 50.0% is below --min-accuracy 90.0%"]
        );
    }

    #[test]
    fn a_baseline_reads_back_and_a_missing_one_is_none() {
        let dir = std::env::temp_dir().join(format!("sluice-eval-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let path = dir.join("baseline.fake.json");
        baseline().save(&path).unwrap_or_else(|e| panic!("{e}"));
        let back = Baseline::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, Some(baseline()));
        assert_eq!(Baseline::load(&dir.join("none.json")).ok(), Some(None));
        std::fs::remove_dir_all(&dir).unwrap_or_default();
    }
}
