//! Checking a reviewer's corrections before anything is decided.

use chrono::Utc;
use serde_json::{Map, Value};
use sluice_core::Envelope;
use sluice_gate::rules::{self, Facts};

use crate::catalog::Workflow;

/// One reason a correction is refused: next to its field when it is about
/// one, about the whole request otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The contract field, if the failure is about one.
    pub field: Option<String>,
    /// What is wrong, for people.
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl FieldError {
    fn at(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }
}

/// Applies `fields` to the envelope's contract and checks the result: no
/// field outside the contract, none that identifies the request, the
/// contract schema, then the gate's rules. On success the envelope carries
/// the corrected contract and the gate's new decision; on failure it is
/// unchanged and every reason is returned.
pub fn check(
    envelope: &mut Envelope,
    fields: &Map<String, Value>,
    workflow: &Workflow,
) -> Result<(), Vec<FieldError>> {
    let Some(interpretation) = envelope.interpretation.as_ref() else {
        return Err(vec![FieldError {
            field: None,
            message: "the request was never understood; there is nothing to correct".into(),
        }]);
    };
    let mut errors: Vec<FieldError> = fields
        .keys()
        .filter_map(|name| {
            workflow
                .not_correctable(name)
                .map(|why| FieldError::at(name, why))
        })
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut corrected = interpretation.clone();
    if let Some(contract) = corrected.contract.as_object_mut() {
        contract.extend(fields.clone());
    }
    errors.extend(schema_errors(workflow, &corrected.contract));
    if !errors.is_empty() {
        return Err(errors);
    }
    // The reviewer vouches for the reading, so confidence is not in doubt
    // for the check; the envelope keeps the model's own figure.
    let mut vouched = corrected.clone();
    vouched.confidence = 1.0;
    let facts = Facts {
        source: &envelope.source,
        data: &envelope.data,
        interpretation: &vouched,
        now: Utc::now(),
        switched_off: None,
        // A person is already looking: never sampled for a spot check.
        sample: 1.0,
        context: None,
    };
    let evaluation = rules::evaluate(&workflow.policy, &facts);
    errors.extend(
        evaluation
            .decision
            .rules
            .iter()
            // A reviewer's approval is the human check these two ask for.
            .filter(|r| !r.passed && !matches!(r.rule.as_str(), "confidence" | "irreversible"))
            .map(|r| FieldError {
                field: rules::rule_field(&r.rule).map(str::to_owned),
                message: format!("{} ({})", r.rule, r.detail),
            }),
    );
    if !errors.is_empty() {
        return Err(errors);
    }
    envelope.interpretation = Some(corrected);
    envelope.decision = Some(evaluation.decision);
    Ok(())
}

/// The contract schema's complaints, each at the top-level field it is in.
fn schema_errors(workflow: &Workflow, contract: &Value) -> Vec<FieldError> {
    workflow
        .contract
        .errors(contract)
        .into_iter()
        .map(|line| {
            // `/party_size: "ten" is not of type "integer"`.
            let (path, message) = line.split_once(": ").unwrap_or(("/", line.as_str()));
            let field = path.trim_start_matches('/').split('/').next().unwrap_or("");
            FieldError {
                field: (!field.is_empty()).then(|| field.to_owned()),
                message: message.to_owned(),
            }
        })
        .collect()
}
