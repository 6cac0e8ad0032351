//! What `sluice eval` prints: a table per field, the failing cases with
//! expected against got, the deltas against the baseline, then the accepted
//! feedback cases on their own; or one JSON object, the feedback cases under
//! `feedback`.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};
use sluice_eval::{Baseline, CaseResult, Judgement, Report, Score, Thresholds};

use crate::output::table;

/// One run, ready to print.
pub(super) struct View<'a> {
    pub report: &'a Report,
    pub score: &'a Score,
    pub baseline: Option<&'a Baseline>,
    pub baseline_path: &'a Path,
    pub judgement: &'a Judgement,
    pub thresholds: Thresholds,
    /// The accepted feedback cases' run, if there are any.
    pub feedback: Option<(&'a Report, &'a Score)>,
    pub feedback_path: &'a Path,
}

impl View<'_> {
    /// Everything, for scripts.
    pub fn json(&self) -> Value {
        let r = self.report;
        json!({
            "workflow": r.workflow,
            "backend": r.backend,
            "model": r.model,
            "prompt_version": r.prompt_version,
            "prompt_sha256": r.prompt_sha256,
            "score": self.score,
            "baseline_path": self.baseline_path,
            "baseline": self.baseline,
            "comparison": self.judgement.comparison,
            "max_regression": self.thresholds.max_regression,
            "min_accuracy": self.thresholds.min_accuracy,
            "failures": self.judgement.failures,
            "passed": self.judgement.failures.is_empty(),
            "cases": r.cases,
            "feedback": self.feedback.map(|(report, score)| json!({
                "path": self.feedback_path,
                "in_baseline": false,
                "score": score,
                "cases": report.cases,
            })),
        })
    }

    /// The human summary.
    pub fn human(&self, out: &mut impl Write) -> std::io::Result<()> {
        let r = self.report;
        let model = r
            .model
            .as_deref()
            .map(|m| format!(" (model {m})"))
            .unwrap_or_default();
        writeln!(
            out,
            "eval {}: {} cases, backend {}{model}",
            r.workflow, self.score.cases, r.backend
        )?;
        writeln!(
            out,
            "prompt {} sha256 {}",
            r.prompt_version, r.prompt_sha256
        )?;
        match self.baseline {
            Some(b) => writeln!(
                out,
                "baseline {} (prompt {} sha256 {}, backend {}{})",
                self.baseline_path.display(),
                b.prompt_version,
                short(&b.prompt_sha256),
                b.backend,
                b.model
                    .as_deref()
                    .map(|m| format!(" model {m}"))
                    .unwrap_or_default(),
            )?,
            None => writeln!(
                out,
                "no baseline at {} (--save-baseline writes one)",
                self.baseline_path.display()
            )?,
        }
        writeln!(out)?;
        self.fields(out)?;
        failing(out, "failing cases", &self.report.cases)?;
        self.changes(out)?;
        self.feedback(out)?;
        writeln!(out)?;
        if self.judgement.failures.is_empty() {
            writeln!(
                out,
                "ok: overall {} ({}/{}), no drop beyond {:.1} points",
                percent(self.score.overall),
                self.score.passed,
                self.score.cases,
                self.thresholds.max_regression * 100.0
            )?;
        } else {
            for failure in &self.judgement.failures {
                writeln!(out, "FAILED: {failure}")?;
            }
        }
        Ok(())
    }

    fn fields(&self, out: &mut impl Write) -> std::io::Result<()> {
        let then = |name: &str| {
            self.baseline.and_then(|b| {
                if name == "overall" {
                    Some(b.overall)
                } else {
                    b.fields.get(name).copied()
                }
            })
        };
        let row = |name: &str, correct: usize, total: usize, accuracy: f64| {
            let (base, delta) = match then(name) {
                Some(b) => (percent(b), format!("{:+.1}", (accuracy - b) * 100.0)),
                None => ("-".to_owned(), "-".to_owned()),
            };
            vec![
                name.to_owned(),
                format!("{correct}/{total}"),
                percent(accuracy),
                base,
                delta,
            ]
        };
        let mut rows: Vec<Vec<String>> = self
            .score
            .fields
            .iter()
            .map(|(name, f)| row(name, f.correct, f.total, f.accuracy))
            .collect();
        rows.push(row(
            "overall",
            self.score.passed,
            self.score.cases,
            self.score.overall,
        ));
        table(
            out,
            &["FIELD", "CORRECT", "ACCURACY", "BASELINE", "DELTA"],
            &rows,
        )
    }

    fn changes(&self, out: &mut impl Write) -> std::io::Result<()> {
        let fallbacks = self
            .report
            .cases
            .iter()
            .filter(|c| c.fallback_reason.is_some())
            .count();
        if fallbacks > 0 {
            writeln!(
                out,
                "\n{fallbacks} case(s) were answered by the fallback extractor"
            )?;
        }
        let Some(c) = &self.judgement.comparison else {
            return Ok(());
        };
        if c.prompt_changed {
            writeln!(out, "\nthe prompt changed since the baseline")?;
        }
        if c.model_changed {
            writeln!(out, "\nthe model differs from the baseline's")?;
        }
        if !c.newly_failing.is_empty() {
            writeln!(
                out,
                "\nnewly failing since the baseline: {}",
                some(&c.newly_failing)
            )?;
        }
        if !c.newly_passing.is_empty() {
            writeln!(
                out,
                "\nnewly passing since the baseline: {}",
                some(&c.newly_passing)
            )?;
        }
        Ok(())
    }

    /// The accepted feedback cases: their own accuracy, never judged
    /// against the baseline.
    fn feedback(&self, out: &mut impl Write) -> std::io::Result<()> {
        let Some((report, score)) = self.feedback else {
            return Ok(());
        };
        writeln!(
            out,
            "\nfeedback from reviews: {} accepted case(s) in {}, not part of the baseline",
            score.cases,
            self.feedback_path.display()
        )?;
        let row = |name: &str, correct: usize, total: usize, accuracy: f64| {
            vec![
                name.to_owned(),
                format!("{correct}/{total}"),
                percent(accuracy),
            ]
        };
        let mut rows: Vec<Vec<String>> = score
            .fields
            .iter()
            .map(|(name, f)| row(name, f.correct, f.total, f.accuracy))
            .collect();
        rows.push(row("overall", score.passed, score.cases, score.overall));
        table(out, &["FIELD", "CORRECT", "ACCURACY"], &rows)?;
        failing(out, "failing feedback cases", &report.cases)
    }
}

/// The failing ones of `cases` under `title`, each with its wrong fields.
fn failing(out: &mut impl Write, title: &str, cases: &[CaseResult]) -> std::io::Result<()> {
    let failing: Vec<&CaseResult> = cases.iter().filter(|c| !c.passed).collect();
    if failing.is_empty() {
        return Ok(());
    }
    let known = failing.iter().filter(|c| c.known_failure).count();
    writeln!(out, "\n{title}: {} ({known} known)", failing.len())?;
    for case in failing {
        let mark = if case.known_failure { " [known]" } else { "" };
        writeln!(out, "  {}{mark}  {}", case.id, case.origin)?;
        for f in case.fields.iter().filter(|f| !f.correct) {
            writeln!(
                out,
                "      {}: expected {}, got {}",
                f.field,
                shown(&f.expected),
                shown(&f.got)
            )?;
        }
        for (label, text) in [
            ("fallback", &case.fallback_reason),
            ("review", &case.review_reason),
            ("note", &case.note),
        ] {
            if let Some(text) = text {
                writeln!(out, "      {label}: {text}")?;
            }
        }
    }
    Ok(())
}

/// The first ids of a list, and how many more there are.
fn some(ids: &[String]) -> String {
    const SHOWN: usize = 8;
    let mut text = ids
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > SHOWN {
        text.push_str(&format!(" … and {} more", ids.len() - SHOWN));
    }
    text
}

fn percent(r: f64) -> String {
    format!("{:.1}%", r * 100.0)
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

fn shown(v: &Option<Value>) -> String {
    v.as_ref()
        .map_or_else(|| "(absent)".to_owned(), Value::to_string)
}
