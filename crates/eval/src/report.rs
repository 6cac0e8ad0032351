//! Per-case, per-field results and their accuracy.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::case::{Case, Origin, Outcome};

/// The pseudo-field holding the gate's outcome.
pub const OUTCOME: &str = "outcome";

/// How a contract field is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compare {
    /// The values must be equal (both absent is equal).
    Exact,
    /// Free text (`"x-eval": "presence"` in the schema): present in both or
    /// absent in both.
    Presence,
}

/// One field of one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldResult {
    /// The contract field, or `outcome`.
    pub field: String,
    /// What a correct system answers; `None` = absent.
    pub expected: Option<Value>,
    /// What the run answered; `None` = absent.
    pub got: Option<Value>,
    /// Whether they agree.
    pub correct: bool,
}

/// One case's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseResult {
    /// The case id.
    pub id: String,
    /// The case's category.
    pub category: String,
    /// Where the case is written.
    pub origin: Origin,
    /// Marked as a known failure of the shipped extractor.
    pub known_failure: bool,
    /// The case's note.
    pub note: Option<String>,
    /// Every compared field.
    pub fields: Vec<FieldResult>,
    /// Every field correct.
    pub passed: bool,
    /// The backend whose answer was used (`rules` after a fallback).
    pub backend: Option<String>,
    /// Why the fallback was used, if it was.
    pub fallback_reason: Option<String>,
    /// Why no contract was produced, for `uninterpretable`.
    pub review_reason: Option<String>,
    /// The interpretation's overall confidence.
    pub confidence: Option<f64>,
    /// SHA-256 of the rendered prompt sent to the primary backend.
    pub prompt_sha256: Option<String>,
    /// The primary backend's first answer, verbatim, if it gave one.
    pub answer: Option<String>,
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The workflow.
    pub workflow: String,
    /// The primary backend (`rules`, `openai`, `fake`).
    pub backend: String,
    /// Its model, for model backends.
    pub model: Option<String>,
    /// The prompt's declared version.
    pub prompt_version: String,
    /// SHA-256 of the prompt template file.
    pub prompt_sha256: String,
    /// Every case, in file order.
    pub cases: Vec<CaseResult>,
}

/// Accuracy of one field over the cases that compare it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FieldScore {
    /// Cases where it was correct.
    pub correct: usize,
    /// Cases that compare it.
    pub total: usize,
    /// `correct / total`.
    pub accuracy: f64,
}

/// The run's accuracy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// Cases run.
    pub cases: usize,
    /// Cases with every field correct.
    pub passed: usize,
    /// `passed / cases`.
    pub overall: f64,
    /// Per field.
    pub fields: BTreeMap<String, FieldScore>,
}

impl Report {
    /// Accuracy per field and overall (a case counts when every field is right).
    pub fn score(&self) -> Score {
        let mut fields: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for case in &self.cases {
            for f in &case.fields {
                let entry = fields.entry(f.field.clone()).or_default();
                entry.0 += usize::from(f.correct);
                entry.1 += 1;
            }
        }
        let passed = self.cases.iter().filter(|c| c.passed).count();
        Score {
            cases: self.cases.len(),
            passed,
            overall: ratio(passed, self.cases.len()),
            fields: fields
                .into_iter()
                .map(|(name, (correct, total))| {
                    let accuracy = ratio(correct, total);
                    (
                        name,
                        FieldScore {
                            correct,
                            total,
                            accuracy,
                        },
                    )
                })
                .collect(),
        }
    }
}

/// `n / d`, rounded to four places (1.0 for nothing to count).
pub(crate) fn ratio(n: usize, d: usize) -> f64 {
    if d == 0 {
        return 1.0;
    }
    let r = n as f64 / d as f64;
    (r * 10_000.0).round() / 10_000.0
}

/// What the run produced for one case, before comparison.
#[derive(Debug, Clone, Default)]
pub(crate) struct Got {
    pub contract: Option<Map<String, Value>>,
    pub outcome: Option<Outcome>,
    pub missing: Vec<String>,
}

/// Compares `got` with the case's expectations. `fields` are the contract
/// fields every case compares (the schema's, less fixed metadata); fields
/// the expected contract names are compared too.
pub(crate) fn compare(
    case: &Case,
    got: &Got,
    fields: &BTreeMap<String, Compare>,
) -> Vec<FieldResult> {
    let mut out = Vec::new();
    if let Some(expected) = &case.expected.contract {
        let names: BTreeSet<&String> = fields.keys().chain(expected.keys()).collect();
        for name in names {
            let want = expected.get(name).cloned();
            let have = got.contract.as_ref().and_then(|c| c.get(name)).cloned();
            let correct = match fields.get(name).copied().unwrap_or(Compare::Exact) {
                Compare::Exact => want == have,
                Compare::Presence => want.is_some() == have.is_some(),
            };
            out.push(FieldResult {
                field: name.clone(),
                expected: want,
                got: have,
                correct,
            });
        }
    }
    if let Some(outcome) = case.expected.outcome {
        let want = outcome.label(&case.expected.missing);
        let have = got.outcome.map(|o| o.label(&got.missing));
        let correct = got
            .outcome
            .is_some_and(|o| outcome.accepts(&case.expected.missing, o, &got.missing));
        out.push(FieldResult {
            field: OUTCOME.to_owned(),
            correct,
            expected: Some(Value::String(want)),
            got: have.map(Value::String),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::case::parse_line;

    fn case(expected: Value) -> Case {
        let line = json!({
            "id": "c", "now": "2026-11-23T18:00:00+01:00", "timezone": "Europe/Madrid",
            "payload": {"id": "m", "from": "+34600000001", "text": "x"}, "expected": expected,
        });
        parse_line(&line.to_string(), Origin::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn contract(v: Value) -> Option<Map<String, Value>> {
        v.as_object().cloned()
    }

    #[test]
    fn fields_compare_exactly_free_text_by_presence_and_absence_counts() {
        let fields = BTreeMap::from([
            ("party_size".to_owned(), Compare::Exact),
            ("time".to_owned(), Compare::Exact),
            ("notes".to_owned(), Compare::Presence),
        ]);
        let c = case(json!({
            "contract": {"party_size": 4, "notes": "terrace"},
            "outcome": "clarify", "missing": ["time"],
        }));
        let got = Got {
            contract: contract(
                json!({"party_size": 4, "time": "21:00", "notes": "on the terrace"}),
            ),
            outcome: Some(Outcome::Clarify),
            missing: vec!["time".into()],
        };
        let results = compare(&c, &got, &fields);
        let verdict: Vec<(&str, bool)> = results
            .iter()
            .map(|f| (f.field.as_str(), f.correct))
            .collect();
        // A time the case leaves out is a guess: wrong.
        assert_eq!(
            verdict,
            [
                ("notes", true),
                ("party_size", true),
                ("time", false),
                ("outcome", true)
            ]
        );
    }

    #[test]
    fn not_auto_accepts_every_outcome_but_auto() {
        let c = case(json!({"outcome": "not_auto"}));
        let verdict = |outcome: Option<Outcome>| {
            let got = Got {
                outcome,
                missing: vec!["time".into()],
                ..Got::default()
            };
            let results = compare(&c, &got, &BTreeMap::new());
            assert_eq!(results.len(), 1, "the contract is not compared");
            results[0].correct
        };
        for stopped in [Outcome::Review, Outcome::Clarify, Outcome::Reject] {
            assert!(verdict(Some(stopped)), "{stopped:?}");
        }
        assert!(!verdict(Some(Outcome::Auto)));
        assert!(!verdict(None));
    }

    #[test]
    fn accuracy_is_per_field_and_overall_per_case() {
        let result = |id: &str, correct: &[bool]| CaseResult {
            id: id.into(),
            category: String::new(),
            origin: Origin::default(),
            known_failure: false,
            note: None,
            fields: correct
                .iter()
                .enumerate()
                .map(|(i, c)| FieldResult {
                    field: format!("f{i}"),
                    expected: None,
                    got: None,
                    correct: *c,
                })
                .collect(),
            passed: correct.iter().all(|c| *c),
            backend: None,
            fallback_reason: None,
            review_reason: None,
            confidence: None,
            prompt_sha256: None,
            answer: None,
        };
        let report = Report {
            workflow: "w".into(),
            backend: "rules".into(),
            model: None,
            prompt_version: "v1".into(),
            prompt_sha256: String::new(),
            cases: vec![
                result("a", &[true, true]),
                result("b", &[true, false]),
                result("c", &[true, true]),
            ],
        };
        let score = report.score();
        assert_eq!((score.cases, score.passed, score.overall), (3, 2, 0.6667));
        assert_eq!(score.fields["f0"].accuracy, 1.0);
        assert_eq!(score.fields["f1"].correct, 2);
    }
}
