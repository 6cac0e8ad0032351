//! A review item's handoff in plain language. Two shapes are stored: the
//! gate's (`collected` maps each field to `{value, confidence}`, with
//! `failed_rules`) and the executor's (`collected` is the contract itself,
//! with `stopped_at` and `effect_unknown`); both are read here.

use maud::{Markup, html};
use serde_json::Value;

/// A handoff value as text: strings as they are, anything else as JSON.
pub fn text(value: &Value) -> String {
    match value {
        Value::Null => "—".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The user's own words when the request has a text field.
fn words(requested: &Value) -> Option<&str> {
    if let Some(s) = requested.as_str() {
        return Some(s);
    }
    ["text", "message", "body"]
        .iter()
        .find_map(|k| requested.get(*k).and_then(Value::as_str))
}

fn confidence(value: Option<&Value>) -> String {
    match value.and_then(Value::as_f64) {
        Some(c) => format!("{:.0} %", c * 100.0),
        None => "not given".to_owned(),
    }
}

/// The handoff's sections.
pub fn render(h: &Value) -> Markup {
    html! {
        section aria-labelledby="asked" {
            h2 id="asked" { "What was asked" }
            @if let Some(words) = words(&h["requested"]) {
                blockquote { (words) }
            } @else {
                pre { (pretty(&h["requested"])) }
            }
        }
        section aria-labelledby="understood" {
            h2 id="understood" { "What was understood" }
            (understood(h))
            @if !h["proposed_action"].is_null() {
                p { "Proposed action: " strong { (text(&h["proposed_action"])) } }
            }
        }
        section aria-labelledby="stopped" {
            h2 id="stopped" { "Why the automation stopped" }
            p { (text(&h["why_stopped"])) }
            @if h["effect_unknown"].as_bool() == Some(true) {
                p class="warning" {
                    "The effect may or may not have happened in the target system: check it before deciding."
                }
            }
            (failed_checks(&h["failed_rules"]))
            @if !h["stopped_at"].is_null() {
                p { "Where it stopped:" }
                pre { (pretty(&h["stopped_at"])) }
            }
            (attempts(h))
        }
        section aria-labelledby="needed" {
            h2 id="needed" { "Decision needed" }
            p { (text(&h["decision_needed"])) }
        }
    }
}

fn understood(h: &Value) -> Markup {
    let Some(fields) = h["collected"].as_object().filter(|f| !f.is_empty()) else {
        return html! { p { "Nothing was understood from the request." } };
    };
    html! {
        @if let Some(overall) = h.get("confidence").filter(|c| c.is_number()) {
            p { "Overall confidence: " (confidence(Some(overall))) }
        }
        table {
            caption { "Fields collected from the request" }
            thead { tr {
                th scope="col" { "Field" }
                th scope="col" { "Value" }
                th scope="col" { "Confidence" }
            } }
            tbody {
                @for (name, field) in fields {
                    @let graded = field.is_object() && field.get("value").is_some();
                    tr {
                        th scope="row" { (name) }
                        td { (text(if graded { &field["value"] } else { field })) }
                        td { (confidence(if graded { field.get("confidence") } else { None })) }
                    }
                }
            }
        }
    }
}

fn failed_checks(rules: &Value) -> Markup {
    let Some(rules) = rules.as_array().filter(|r| !r.is_empty()) else {
        return html! {};
    };
    html! {
        p { "Checks that failed:" }
        ul {
            @for rule in rules {
                li { strong { (text(&rule["rule"])) } ": " (text(&rule["detail"])) }
            }
        }
    }
}

fn attempts(h: &Value) -> Markup {
    let tried = h["actions_attempted"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if tried.is_empty() {
        return html! { p { "No action was attempted." } };
    }
    let returned = h["systems_returned"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    html! {
        table {
            caption { "Actions attempted" }
            thead { tr {
                th scope="col" { "Action" }
                th scope="col" { "What the system answered" }
            } }
            tbody {
                @for (i, action) in tried.iter().enumerate() {
                    tr {
                        th scope="row" { (text(action)) }
                        td { (returned.get(i).map_or_else(|| "—".to_owned(), text)) }
                    }
                }
            }
        }
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_gate_handoff_reads_in_plain_language() {
        let html = render(&json!({
            "requested": "table for 12 tonight <b>",
            "collected": {"party_size": {"value": 12, "confidence": 0.42}},
            "confidence": 0.6,
            "why_stopped": "party too large",
            "failed_rules": [{"rule": "max_party", "detail": "12 > 8"}],
            "decision_needed": "approve, correct or reject book_table",
        }))
        .into_string();
        assert!(html.contains("table for 12 tonight &lt;b&gt;"));
        assert!(html.contains("42 %"));
        assert!(html.contains("max_party"));
        assert!(html.contains("approve, correct or reject book_table"));
    }

    #[test]
    fn the_executor_handoff_warns_when_the_effect_is_unknown() {
        let html = render(&json!({
            "requested": {"text": "book for 4", "from": "+34600000000"},
            "collected": {"party_size": 4},
            "actions_attempted": ["create_booking"],
            "systems_returned": [{"status": 504}],
            "stopped_at": {"action": "create_booking"},
            "why_stopped": "timeout after the request was sent",
            "effect_unknown": true,
            "decision_needed": "check the target system",
        }))
        .into_string();
        assert!(html.contains("<blockquote>book for 4</blockquote>"));
        assert!(html.contains("may or may not have happened"));
        assert!(html.contains("not given"), "no per-field confidence");
        assert!(html.contains("504"));
        assert!(!html.contains("No action was attempted"));
    }
}
