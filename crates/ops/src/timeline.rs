//! An execution's journal as a timeline: each transition with the time since
//! the execution started, how long the step took, and the facts an operator
//! looks for in its detail (model and prompt, gate verdict, effect ids,
//! errors).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sluice_core::State;
use sluice_ledger::{Execution, JournalEntry};

/// One execution's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    /// The execution id.
    pub execution_id: String,
    /// The workflow.
    pub workflow: String,
    /// The upstream source and event id.
    pub source: String,
    /// The upstream event id.
    pub event_id: String,
    /// The correlation id.
    pub correlation_id: String,
    /// The current state.
    pub state: String,
    /// When the first transition was journaled.
    pub started_at: DateTime<Utc>,
    /// From the first to the last transition, in milliseconds.
    pub total_ms: i64,
    /// Why it stopped or failed, if it did.
    pub exception_reason: Option<String>,
    /// The final outcome, once there is one.
    pub final_outcome: Option<String>,
    /// Every transition, in journal order.
    pub steps: Vec<Step>,
}

/// One transition.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// The journal sequence number.
    pub seq: i64,
    /// When (ledger clock).
    pub at: DateTime<Utc>,
    /// Milliseconds since the execution started.
    pub since_start_ms: i64,
    /// Milliseconds since the previous transition: how long this step took.
    pub duration_ms: i64,
    /// The stage that made the move.
    pub stage: String,
    /// The state before, `None` for the first.
    pub from: Option<String>,
    /// The state after.
    pub to: String,
    /// Who made the move.
    pub actor: String,
    /// The key facts of the detail, in reading order.
    pub facts: Vec<Fact>,
    /// The detail as journaled.
    pub detail: Option<Value>,
}

/// A named fact, already worded for people.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fact {
    /// What it is (`model`, `verdict`, `external_id`…).
    pub name: String,
    /// Its value.
    pub value: String,
}

impl Timeline {
    /// Builds the timeline of `execution` from its `journal`.
    pub fn new(execution: &Execution, journal: &[JournalEntry]) -> Self {
        let started_at = journal.first().map_or(execution.received_at, |j| j.at);
        let mut previous = started_at;
        let steps: Vec<Step> = journal
            .iter()
            .map(|j| {
                let step = Step {
                    seq: j.seq,
                    at: j.at,
                    since_start_ms: (j.at - started_at).num_milliseconds(),
                    duration_ms: (j.at - previous).num_milliseconds(),
                    stage: j.stage.clone(),
                    from: j.from_state.clone(),
                    to: j.to_state.clone(),
                    actor: j.actor.clone(),
                    facts: facts(&j.to_state, j.detail.as_ref()),
                    detail: j.detail.clone(),
                };
                previous = j.at;
                step
            })
            .collect();
        Self {
            execution_id: execution.execution_id.to_string(),
            workflow: execution.workflow.clone(),
            source: execution.source.clone(),
            event_id: execution.event_id.clone(),
            correlation_id: execution.correlation_id.clone(),
            state: execution.state.clone(),
            started_at,
            total_ms: steps.last().map_or(0, |s| s.since_start_ms),
            exception_reason: execution.exception_reason.clone(),
            final_outcome: execution.final_outcome.clone(),
            steps,
        }
    }
}

/// The facts worth a glance in one transition's detail. Generic over the
/// keys the stages journal, so a new stage's detail shows up without a
/// change here as long as it reuses the names.
pub fn facts(to: &str, detail: Option<&Value>) -> Vec<Fact> {
    let mut facts = Facts::default();
    let empty = Value::Null;
    let d = detail.unwrap_or(&empty);
    facts.text("via", &d["via"]);
    facts.text("backend", &d["backend"]);
    facts.text("model", &d["model"]);
    if let Some(version) = d["prompt_version"].as_str() {
        let sha = d["prompt_sha256"].as_str().unwrap_or_default();
        let sha: String = sha.chars().take(8).collect();
        let prompt = if sha.is_empty() {
            version.to_owned()
        } else {
            format!("{version}@{sha}")
        };
        facts.push("prompt", prompt);
    }
    if let Some(ms) = d["latency_ms"].as_u64() {
        facts.push("latency", format!("{ms}ms"));
    }
    if let Value::Object(usage) = &d["usage"] {
        let n = |k: &str| usage.get(k).and_then(Value::as_u64).unwrap_or(0);
        facts.push(
            "tokens",
            format!("{}+{}", n("prompt_tokens"), n("completion_tokens")),
        );
        if let Some(cost) = usage.get("cost_usd").and_then(Value::as_f64) {
            facts.push("cost", format!("${cost:.4}"));
        }
    }
    facts.text("fallback", &d["fallback_reason"]);
    if d["reused_stored_interpretation"] == Value::Bool(true) {
        facts.push("reused", "stored interpretation".to_owned());
    }
    if let Some(c) = d["confidence"].as_f64() {
        facts.push("confidence", format!("{c:.2}"));
    }
    facts.text("proposed", &d["proposed_action"]);
    facts.text("verdict", &d["verdict"]);
    facts.text("action", &d["action"]);
    gate_rules(&mut facts, &d["rules"]);
    facts.list("missing", &d["missing"]);
    facts.list("offered", &d["offers"]);
    context_used(&mut facts, &d["context"]);
    facts.text("why", &d["summary"]);
    facts.text("idempotency_key", &d["key"]);
    facts.text("external_id", &d["external_id"]);
    if let Some(prevented) = d["prevented_duplicate"].as_bool() {
        facts.push("prevented_duplicate", yes_no(prevented));
    }
    if to == State::Notified.as_str() {
        facts.push("sent", yes_no(true));
    }
    facts.text("what", &d["what"]);
    facts.text("target", &d["target"]);
    facts.text("reason", &d["reason"]);
    facts.0
}

/// Each context answer the gate decided on: where from, how old, and
/// whether it was cached, stale or missing.
fn context_used(facts: &mut Facts, context: &Value) {
    for used in context.as_array().into_iter().flatten() {
        let name = used["name"].as_str().unwrap_or("context");
        let from = used["from"].as_str().unwrap_or("?");
        let error = used["error"].as_str().unwrap_or("no answer");
        let line = if used["value"].is_null() {
            format!("{name} unavailable from {from}: {error}")
        } else {
            let age = used["age_s"].as_u64().unwrap_or(0);
            let how = if used["stale"] == Value::Bool(true) {
                format!(", stale ({error})")
            } else if used["cached"] == Value::Bool(true) {
                ", cached".to_owned()
            } else {
                String::new()
            };
            format!("{name} from {from}, {age}s old{how}")
        };
        facts.push("context", line);
    }
}

/// Failed rules by name and finding; a count when all passed.
fn gate_rules(facts: &mut Facts, rules: &Value) {
    let Some(rules) = rules.as_array() else {
        return;
    };
    let failed: Vec<String> = rules
        .iter()
        .filter(|r| r["passed"] == Value::Bool(false))
        .map(|r| {
            let name = r["rule"].as_str().unwrap_or("?");
            match r["detail"].as_str() {
                Some(detail) if !detail.is_empty() => format!("{name} ({detail})"),
                _ => name.to_owned(),
            }
        })
        .collect();
    if failed.is_empty() {
        facts.push("rules", format!("{} passed", rules.len()));
    } else {
        facts.push("failed_rules", failed.join("; "));
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

#[derive(Default)]
struct Facts(Vec<Fact>);

impl Facts {
    fn push(&mut self, name: &str, value: String) {
        self.0.push(Fact {
            name: name.to_owned(),
            value,
        });
    }

    /// A string or number; nothing for null or empty.
    fn text(&mut self, name: &str, value: &Value) {
        match value {
            Value::String(s) if !s.is_empty() => self.push(name, s.clone()),
            Value::Number(n) => self.push(name, n.to_string()),
            _ => {}
        }
    }

    fn list(&mut self, name: &str, value: &Value) {
        let items: Vec<&str> = value
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if !items.is_empty() {
            self.push(name, items.join(", "));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn named(facts: &[Fact]) -> Vec<String> {
        facts
            .iter()
            .map(|f| format!("{}={}", f.name, f.value))
            .collect()
    }

    #[test]
    fn interpreter_facts_name_model_prompt_and_cost() {
        let detail = json!({
            "backend": "openai", "model": "gpt-x", "prompt_version": "v3",
            "prompt_sha256": "0123456789abcdef", "latency_ms": 420,
            "usage": { "prompt_tokens": 300, "completion_tokens": 40, "cost_usd": 0.00123 },
            "fallback_reason": "timeout", "reused_stored_interpretation": false,
        });
        assert_eq!(
            named(&facts("MODEL_COMPLETED", Some(&detail))),
            [
                "backend=openai",
                "model=gpt-x",
                "prompt=v3@01234567",
                "latency=420ms",
                "tokens=300+40",
                "cost=$0.0012",
                "fallback=timeout",
            ]
        );
    }

    #[test]
    fn gate_and_executor_facts() {
        let gate = json!({
            "verdict": "clarify", "missing": ["date"], "summary": "missing date",
            "rules": [
                { "rule": "required", "passed": false, "detail": "missing date" },
                { "rule": "party_size", "passed": true },
            ],
        });
        assert_eq!(
            named(&facts("GATE_DECIDED", Some(&gate))),
            [
                "verdict=clarify",
                "failed_rules=required (missing date)",
                "missing=date",
                "why=missing date",
            ]
        );
        let done = json!({ "key": "k1", "external_id": "bk_1", "prevented_duplicate": true });
        assert_eq!(
            named(&facts("ACTION_COMPLETED", Some(&done))),
            [
                "idempotency_key=k1",
                "external_id=bk_1",
                "prevented_duplicate=yes"
            ]
        );
        assert_eq!(named(&facts("NOTIFIED", None)), ["sent=yes"]);
    }

    #[test]
    fn the_context_a_decision_used_is_shown_with_its_age() {
        let gate = json!({
            "verdict": "clarify", "missing": ["time"], "offers": ["19:30", "20:30"],
            "context": [
                { "name": "availability", "from": "http://booking/availability",
                  "age_s": 3, "cached": false, "stale": true, "error": "no answer within 1500 ms",
                  "value": { "available": false } },
                { "name": "account", "from": "postgres:account", "error": "database: timeout" },
            ],
        });
        assert_eq!(
            named(&facts("GATE_DECIDED", Some(&gate))),
            [
                "verdict=clarify",
                "missing=time",
                "offered=19:30, 20:30",
                "context=availability from http://booking/availability, 3s old, stale (no answer within 1500 ms)",
                "context=account unavailable from postgres:account: database: timeout",
            ]
        );
    }
}
