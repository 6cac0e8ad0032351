//! The handoff context a reviewer needs: what the user asked, what was
//! collected (with per-field confidence), what was attempted and returned,
//! why the automation stopped, and which decision is missing.

use serde_json::{Map, Value, json};
use sluice_core::Envelope;
use sluice_core::pipeline::{GateDecision, Interpretation};

use crate::rules::Route;

/// Builds the handoff context for a review or exception route.
pub fn context(
    envelope: &Envelope,
    interpretation: &Interpretation,
    decision: &GateDecision,
    route: Route,
) -> Value {
    let stopped: Vec<Value> = decision
        .rules
        .iter()
        .filter(|r| !r.passed)
        .map(|r| json!({"rule": r.rule, "detail": r.detail}))
        .collect();
    let action = decision.action.as_deref().unwrap_or("the proposed action");
    let missing_decision = match route {
        Route::Exception => format!(
            "confirm or correct the interpreted request (confidence {:.2}), then approve or reject {action}",
            interpretation.confidence
        ),
        _ => format!("approve, correct or reject {action}"),
    };
    json!({
        "requested": requested(&envelope.data),
        "collected": collected(interpretation),
        "confidence": interpretation.confidence,
        "proposed_action": interpretation.proposed_action,
        "actions_attempted": envelope.actions.iter().map(|a| &a.action).collect::<Vec<_>>(),
        "systems_returned": envelope.actions.iter().map(|a| &a.response).collect::<Vec<_>>(),
        "why_stopped": decision.summary,
        "failed_rules": stopped,
        "decision_needed": missing_decision,
    })
}

/// The user's own words when the payload has a text field, else the payload.
fn requested(data: &Value) -> Value {
    ["text", "message", "body"]
        .iter()
        .find_map(|k| data.get(*k).filter(|v| v.is_string()).cloned())
        .unwrap_or_else(|| data.clone())
}

fn collected(interpretation: &Interpretation) -> Value {
    let mut out = Map::new();
    if let Some(fields) = interpretation.contract.as_object() {
        for (name, value) in fields {
            let confidence = interpretation.field_confidence.get(name);
            out.insert(
                name.clone(),
                json!({"value": value, "confidence": confidence}),
            );
        }
    }
    Value::Object(out)
}

/// The handoff as stored on the review item: `handoff` plus the envelope
/// under `envelope`, so an approval can resume the same execution.
pub fn with_envelope(handoff: &Value, envelope: &Envelope) -> Result<Value, serde_json::Error> {
    let mut stored = handoff.clone();
    if let Some(fields) = stored.as_object_mut() {
        fields.insert("envelope".to_owned(), serde_json::to_value(envelope)?);
    }
    Ok(stored)
}
