//! Cases made from reviewers' decisions.
//!
//! A reviewer who corrects fields before approving, or who rejects what the
//! automation stopped on, has said what a correct system answers for that
//! message. [`FeedbackWorkflow::case`] turns such a decision into a
//! candidate case: the original payload, frozen at the time the interpreter
//! read it (the payload's own timestamp, else when ingest accepted it) in
//! the workflow's timezone, and
//!
//! - for an approval with corrections, the expected contract: the
//!   interpreter's contract with the corrections applied, less the fields
//!   copied from the payload (as in the frozen cases). The gate's outcome is
//!   not compared: the reviewer vouched for the reading, not for the route.
//! - for a rejection, the expected outcome `not_auto`. The contract is not
//!   compared: a rejection says the request must not go ahead unattended,
//!   not that it was misread. A rejection after an action was attempted is
//!   about the effect, not the interpretation, and makes no case.
//!
//! The case's `feedback` keeps the decision and the interpreter's output.
//! Candidates go to a pending file; a person checks them (they hold the
//! message as sent, personal data included) and accepts them into
//! [`crate::suite::FEEDBACK_FILE`].

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sluice_core::{Envelope, ExecutionId, WorkflowSpec};
use sluice_interpreter::{Extractor, Registry};

use crate::Error;
use crate::case::{Case, Expected, Origin, Outcome, parse_line};

/// What the reviewer decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Approved, with corrected fields.
    Approved,
    /// Rejected: the execution was closed with no effect.
    Rejected,
}

/// Where a feedback case comes from: its `feedback` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feedback {
    /// The review item decided.
    pub review_item: i64,
    /// The execution it stopped.
    pub execution_id: ExecutionId,
    /// Approved (with corrections) or rejected.
    pub decision: Decision,
    /// Who decided, as the ledger authenticated them.
    pub decided_by: String,
    /// When.
    pub decided_at: DateTime<Utc>,
    /// The reviewer's reason.
    pub reason: String,
    /// The interpreter's answer as the reviewer saw it; absent when it
    /// produced no valid contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_output: Option<ModelOutput>,
    /// The fields the reviewer corrected, for an approval.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub corrections: Map<String, Value>,
}

/// The interpretation a review item was opened with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelOutput {
    /// The contract, every field as answered.
    pub contract: Value,
    /// The backend that answered (`rules` after a fallback).
    pub backend: String,
    /// Its model, for model backends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The prompt's declared version.
    pub prompt_version: String,
    /// SHA-256 of the prompt template file.
    pub prompt_sha256: String,
    /// The overall confidence.
    pub confidence: f64,
}

/// A decided review item, as the ledger holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reviewed {
    /// The review item's id.
    pub id: i64,
    /// What was decided.
    pub decision: Decision,
    /// Who decided.
    pub decided_by: String,
    /// When.
    pub decided_at: DateTime<Utc>,
    /// Why.
    pub reason: String,
    /// The corrected fields (empty: none).
    pub corrections: Map<String, Value>,
    /// The envelope stored with the item: the original payload, when it
    /// was received and the interpretation.
    pub envelope: Envelope,
}

/// The id of the case made from review item `review`: the same item always
/// makes the same id, so importing twice adds nothing.
pub fn case_id(review: i64) -> String {
    format!("feedback-{review}")
}

/// What building a feedback case needs of a workflow: its name, timezone
/// and the fields its extractor copies from the payload.
#[derive(Debug, Clone)]
pub struct FeedbackWorkflow {
    name: String,
    timezone: Tz,
    extractor: Option<Arc<dyn Extractor>>,
}

impl FeedbackWorkflow {
    /// Loads the workflow in `dir`, with the extractors of `registry`.
    pub fn load(dir: &Path, registry: &Registry) -> Result<Self, Error> {
        Self::new(&WorkflowSpec::load(dir)?, registry)
    }

    /// The workflow `spec`, with the extractors of `registry`.
    pub fn new(spec: &WorkflowSpec, registry: &Registry) -> Result<Self, Error> {
        let timezone = spec.timezone.parse::<Tz>().map_err(|_| {
            Error::Cases(format!(
                "workflow {}: unknown timezone {:?}",
                spec.name, spec.timezone
            ))
        })?;
        let extractor = spec
            .interpret
            .fallback
            .as_deref()
            .and_then(|n| registry.get(n));
        Ok(Self {
            name: spec.name.clone(),
            timezone,
            extractor,
        })
    }

    /// The candidate case `reviewed` makes, or why it makes none
    /// ([`Error::Feedback`]).
    pub fn case(&self, reviewed: &Reviewed) -> Result<Case, Error> {
        let skip = |reason: String| Error::Feedback {
            review: reviewed.id,
            reason,
        };
        let envelope = &reviewed.envelope;
        if envelope.workflow != self.name {
            let why = format!("it belongs to workflow {}", envelope.workflow);
            return Err(skip(why));
        }
        let interpretation = envelope.interpretation.as_ref();
        let (category, description, expected) = match reviewed.decision {
            Decision::Approved => {
                let contract = interpretation
                    .and_then(|i| i.contract.as_object())
                    .ok_or_else(|| skip("approved without an interpretation".into()))?;
                if reviewed.corrections.is_empty() {
                    return Err(skip("approved as understood: nothing to learn".into()));
                }
                let fields: Vec<&str> = reviewed.corrections.keys().map(String::as_str).collect();
                let description = format!(
                    "Approved by {} with {} corrected: {}",
                    reviewed.decided_by,
                    fields.join(", "),
                    reviewed.reason
                );
                let expected = Expected {
                    contract: Some(self.corrected(envelope, contract, &reviewed.corrections)),
                    ..Expected::default()
                };
                ("feedback: corrected", description, expected)
            }
            Decision::Rejected => {
                if !envelope.actions.is_empty() {
                    let why =
                        "rejected after an action was attempted: about the effect, not the reading";
                    return Err(skip(why.into()));
                }
                let description =
                    format!("Rejected by {}: {}", reviewed.decided_by, reviewed.reason);
                let expected = Expected {
                    outcome: Some(Outcome::NotAuto),
                    ..Expected::default()
                };
                ("feedback: rejected", description, expected)
            }
        };
        // The fields an earlier clarification parked went in with the message.
        let collected: Map<String, Value> = interpretation
            .into_iter()
            .flat_map(|i| i.carried_over.iter().map(move |name| (name, &i.contract)))
            .filter_map(|(name, contract)| Some((name.clone(), contract.get(name)?.clone())))
            .collect();
        let case = Case {
            id: case_id(reviewed.id),
            category: category.to_owned(),
            description,
            now: envelope
                .reference_time()
                .with_timezone(&self.timezone)
                .fixed_offset(),
            timezone: self.timezone.name().to_owned(),
            source: Some(envelope.source.clone()),
            payload: envelope.data.clone(),
            collected: (!collected.is_empty()).then_some(collected),
            expected,
            known_failure: false,
            note: None,
            feedback: Some(Feedback {
                review_item: reviewed.id,
                execution_id: envelope.execution_id,
                decision: reviewed.decision,
                decided_by: reviewed.decided_by.clone(),
                decided_at: reviewed.decided_at,
                reason: reviewed.reason.clone(),
                model_output: interpretation.map(|i| ModelOutput {
                    contract: i.contract.clone(),
                    backend: i.backend.clone(),
                    model: i.model.clone(),
                    prompt_version: i.prompt_version.clone(),
                    prompt_sha256: i.prompt_sha256.clone(),
                    confidence: i.confidence,
                }),
                corrections: reviewed.corrections.clone(),
            }),
            origin: Origin::default(),
        };
        // Through the case parser, so a candidate is valid the way a person
        // will find it in the file (a payload that is not an object, a
        // timestamp the interpreter would not read as `now`…).
        let line = serde_json::to_string(&case).map_err(|e| skip(e.to_string()))?;
        parse_line(&line, Origin::default())
            .map_err(|e| skip(format!("the case would not be valid: {e}")))
    }

    /// The interpreter's contract with `corrections` applied (a `null`
    /// correction removes the field), less the fields copied from the
    /// payload that nobody corrected.
    fn corrected(
        &self,
        envelope: &Envelope,
        contract: &Map<String, Value>,
        corrections: &Map<String, Value>,
    ) -> Map<String, Value> {
        let fixed = self
            .extractor
            .as_ref()
            .map(|x| x.fixed_fields(&envelope.source, &envelope.data))
            .unwrap_or_default();
        let mut expected: Map<String, Value> = contract
            .iter()
            .filter(|(name, _)| !fixed.contains_key(*name))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        for (name, value) in corrections {
            if value.is_null() {
                expected.remove(name);
            } else {
                expected.insert(name.clone(), value.clone());
            }
        }
        expected
    }
}

#[cfg(test)]
mod tests;
