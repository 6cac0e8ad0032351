//! The interpreter's metrics: what the model costs and how good its output
//! is (confidence, empty fields, schema failures), per workflow.

use serde_json::Value;
use sluice_core::metrics::{
    CONFIDENCE, EMPTY_FIELDS, EXECUTION_COST, INTERPRETATIONS, MODEL_TOKENS, SCHEMA_FAILURES,
};
use sluice_core::pipeline::Interpretation;

use crate::workflow::LoadedWorkflow;

/// Counts a fresh, validated interpretation of `workflow` (a reused one
/// cost nothing and was counted when it was made).
pub(crate) fn interpreted(workflow: &LoadedWorkflow, i: &Interpretation) {
    let name = workflow.spec.name.clone();
    metrics::counter!(INTERPRETATIONS.name,
        "workflow" => name.clone(), "backend" => i.backend.clone())
    .increment(1);
    if i.confidence.is_finite() {
        metrics::histogram!(CONFIDENCE.name, "workflow" => name.clone()).record(i.confidence);
    }
    let cost = i.usage.map_or(0.0, |u| u.cost_usd);
    metrics::histogram!(EXECUTION_COST.name, "workflow" => name.clone()).record(cost);
    if let Some(usage) = i.usage {
        for (kind, tokens) in [
            ("prompt", usage.prompt_tokens),
            ("completion", usage.completion_tokens),
        ] {
            metrics::counter!(MODEL_TOKENS.name,
                "workflow" => name.clone(), "backend" => i.backend.clone(), "kind" => kind)
            .increment(u64::from(tokens));
        }
    }
    for field in workflow.contract.field_names() {
        let empty = i.contract.get(field).is_none_or(is_empty);
        if empty {
            metrics::counter!(EMPTY_FIELDS.name,
                "workflow" => name.clone(), "field" => field.to_owned())
            .increment(1);
        }
    }
}

/// Counts a backend answer the contract schema rejected, once per failing
/// field (`_answer` when it was no JSON object at all).
pub(crate) fn schema_failure<I: IntoIterator<Item = String>>(workflow: &str, fields: I) {
    for field in fields {
        metrics::counter!(SCHEMA_FAILURES.name,
            "workflow" => workflow.to_owned(), "field" => field)
        .increment(1);
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}
