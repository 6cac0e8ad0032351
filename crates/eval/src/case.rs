//! The frozen case format: one JSON object per line of
//! `workflows/<name>/eval/*.jsonl`.
//!
//! ```json
//! {"id": "ambiguous-at-8", "category": "ambiguous time",
//!  "description": "'at 8': only 20:00 is within opening hours",
//!  "now": "2026-11-23T18:00:00+01:00", "timezone": "Europe/Madrid",
//!  "payload": {"id": "wamid.1", "from": "+34600000001", "name": "Ana", "text": "Table for 2 tomorrow at 8"},
//!  "expected": {"contract": {"action": "create_booking", "name": "Ana", "party_size": 2,
//!               "date": "2026-11-24", "time": "20:00"}, "outcome": "auto"}}
//! ```
//!
//! A field the expected contract leaves out must be absent from the answer
//! (a guess is wrong). Optional: `source` (default: the workflow's first),
//! `collected` (fields parked by an earlier clarification of the same
//! conversation), `expected.missing` (the fields a `clarify` asks for),
//! `known_failure` with a `note` (the case is right, the shipped extractor
//! is not; it still counts against accuracy), `feedback` (where a case made
//! from a reviewer's decision comes from: see [`crate::feedback`]).

use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Error;
use crate::feedback::Feedback;

/// One frozen case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique across the workflow's case files.
    pub id: String,
    /// What kind of input it is (`ambiguous time`, `dst`, `injection`…).
    #[serde(default)]
    pub category: String,
    /// What the case checks, in a sentence.
    #[serde(default)]
    pub description: String,
    /// The frozen reference time ("now" for relative dates), RFC 3339.
    pub now: DateTime<FixedOffset>,
    /// The IANA timezone the case is written for; it must be the
    /// workflow's, so a changed workflow timezone fails loudly.
    pub timezone: String,
    /// The source it arrives from; default: the workflow's first source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The payload exactly as the source delivers it.
    pub payload: Value,
    /// Fields parked by an earlier clarification of this conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collected: Option<Map<String, Value>>,
    /// What a correct system answers.
    pub expected: Expected,
    /// The expectation is right and the shipped extractor gets it wrong.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub known_failure: bool,
    /// Why it is a known failure, or anything else worth knowing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The review decision the case was made from, for a feedback case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<Feedback>,
    /// Where the case was read from.
    #[serde(skip)]
    pub origin: Origin,
}

/// A case's file (its name) and line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Origin {
    /// The file's name.
    pub file: String,
    /// The line, from 1.
    pub line: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// What a correct system answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// The contract fields, compared one by one (fixed metadata fields such
    /// as `channel` only when listed). Absent: the contract is not compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<Map<String, Value>>,
    /// Where the gate sends it. Absent: the outcome is not compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// For `clarify`: the fields the user is asked for, in any order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// Where an execution goes after the interpreter and the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Executed without a person.
    Auto,
    /// A person reviews it (`HUMAN_REVIEW_PENDING`).
    Review,
    /// Confidence below the review threshold (`NEEDS_REVIEW`).
    Exception,
    /// The user is asked for the missing fields.
    Clarify,
    /// Closed by a rule.
    Reject,
    /// The interpreter produced no valid contract (`NEEDS_REVIEW`).
    Uninterpretable,
    /// Only as an expectation: anything but `auto` (a person, a rule or the
    /// user stops it). What a reviewer's rejection says: this must not have
    /// been done without a person, whichever way it is stopped.
    NotAuto,
}

impl Outcome {
    /// `auto`, `clarify: date, time`…: the value compared as the `outcome`
    /// field, with the missing fields sorted.
    pub fn label(self, missing: &[String]) -> String {
        let name = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        if self != Outcome::Clarify || missing.is_empty() {
            return name;
        }
        let mut missing = missing.to_vec();
        missing.sort();
        format!("{name}: {}", missing.join(", "))
    }

    /// Whether an answered `got` meets this expectation (the labels agree,
    /// or for [`Outcome::NotAuto`], `got` is not `auto`).
    pub fn accepts(
        self,
        expected_missing: &[String],
        got: Outcome,
        got_missing: &[String],
    ) -> bool {
        match self {
            Outcome::NotAuto => got != Outcome::Auto,
            _ => self.label(expected_missing) == got.label(got_missing),
        }
    }
}

/// One line as a case, checked on its own.
pub fn parse_line(line: &str, origin: Origin) -> Result<Case, Error> {
    let mut case: Case = serde_json::from_str(line).map_err(|e| {
        // serde counts lines within the line; the column is what helps.
        let reason = e.to_string();
        let reason = match reason.rsplit_once(" at line ") {
            Some((what, _)) => format!("{what} (column {})", e.column()),
            None => reason,
        };
        bad(&origin, reason)
    })?;
    if case.id.trim().is_empty() {
        return Err(bad(&origin, "the id is empty".into()));
    }
    if case.timezone.parse::<Tz>().is_err() {
        return Err(bad(
            &origin,
            format!("unknown timezone {:?}", case.timezone),
        ));
    }
    if !case.payload.is_object() {
        return Err(bad(&origin, "the payload is not a JSON object".into()));
    }
    // The interpreter prefers a payload's own timestamp to the delivery
    // time; a case whose timestamp says otherwise would not be frozen at `now`.
    if let Some(stamp) = case.payload.get("timestamp").and_then(Value::as_str) {
        let at = DateTime::parse_from_rfc3339(stamp).ok();
        if at != Some(case.now) {
            return Err(bad(
                &origin,
                format!("payload timestamp {stamp:?} differs from now"),
            ));
        }
    }
    if !case.expected.missing.is_empty() && case.expected.outcome != Some(Outcome::Clarify) {
        return Err(bad(
            &origin,
            "expected.missing needs outcome \"clarify\"".into(),
        ));
    }
    case.origin = origin;
    Ok(case)
}

/// A case error at `origin`.
pub(crate) fn bad(origin: &Origin, reason: String) -> Error {
    Error::Case {
        file: origin.file.clone(),
        line: origin.line,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin {
            file: "cases.jsonl".into(),
            line: 7,
        }
    }

    const GOOD: &str = r#"{"id":"a","now":"2026-11-23T18:00:00+01:00","timezone":"Europe/Madrid",
        "payload":{"id":"m","from":"+34600000001","text":"hi"},"expected":{"outcome":"clarify","missing":["time","date"]}}"#;

    #[test]
    fn a_good_line_parses_and_labels_its_outcome() {
        let case = parse_line(GOOD, origin()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(case.origin.to_string(), "cases.jsonl:7");
        let label = Outcome::Clarify.label(&case.expected.missing);
        assert_eq!(label, "clarify: date, time");
        assert_eq!(Outcome::Auto.label(&[]), "auto");
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let cases = [
            ("{not json", "key must be a string"),
            (
                &GOOD.replace("Europe/Madrid", "Mars/Olympus"),
                "unknown timezone",
            ),
            (&GOOD.replace("\"clarify\"", "\"auto\""), "needs outcome"),
            (
                &GOOD.replace("\"id\":\"a\"", "\"id\":\"a\",\"extra\":1"),
                "unknown field",
            ),
        ];
        for (line, why) in cases {
            let err = parse_line(line, origin())
                .map(|_| ())
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("cases.jsonl:7: "), "{err}");
            assert!(err.contains(why), "{err}");
        }
    }
}
