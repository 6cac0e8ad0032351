//! One interpretation: ask the primary backend, validate, repair once, fall
//! back, merge a parked clarification. Unvalidated output never leaves here.

use std::time::{Duration, Instant};

use chrono::DateTime;
use chrono_tz::Tz;
use serde_json::{Map, Value};
use sluice_bus::PendingRequest;
use sluice_core::Envelope;
use sluice_core::pipeline::{ContextUse, Interpretation, Usage};

use crate::backend::{Backend, BackendAnswer, ChatMessage, InterpretRequest};
use crate::contract::drop_nulls;
use crate::observe;
use crate::rules::overall_confidence;
use crate::workflow::LoadedWorkflow;

/// What the interpreter concluded.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// A contract valid against the workflow's schema.
    Interpreted(Box<Interpretation>),
    /// No valid contract and no fallback: a person must look.
    NeedsReview {
        /// Why.
        reason: String,
    },
}

/// A validated answer before it becomes an [`Interpretation`].
struct Accepted {
    contract: Map<String, Value>,
    /// Fields the primary backend's first answer got wrong.
    schema_failures: Vec<String>,
    answer: BackendAnswer,
    backend: String,
    model: Option<String>,
    fallback_reason: Option<String>,
}

impl LoadedWorkflow {
    /// Interprets `envelope`'s payload at reference time `now`, completing
    /// `pending` (an open clarification of the same conversation) if given.
    pub async fn interpret(
        &self,
        envelope: &Envelope,
        pending: Option<&PendingRequest>,
        now: DateTime<Tz>,
    ) -> Reading {
        let started = Instant::now();
        // Boxed: the lookup's future (HTTP, Postgres, retries) inside the
        // stage's would otherwise nest past the compiler's layout depth.
        let (context, used) = match Box::pin(self.context(envelope)).await {
            Ok(found) => found,
            Err(reason) => return Reading::NeedsReview { reason },
        };
        let request = self.request(envelope, pending, now, &context);
        let mut usage = None;
        let mut failed = Vec::new();
        let mut accepted = match self.ask(&request, &mut usage, &mut failed).await {
            Ok(accepted) => accepted,
            Err(reason) => match self.fall_back(envelope, &request, reason) {
                Ok(accepted) => accepted,
                Err(reason) => return Reading::NeedsReview { reason },
            },
        };
        accepted.schema_failures = failed;
        let latency = started.elapsed();
        let mut interpretation = self.finish(envelope, &request, accepted, pending, usage, latency);
        interpretation.context = used;
        // What was understood, for whoever reads the logs: never the prompt,
        // and personal fields only as "[redacted]".
        tracing::info!(
            contract = %self.contract.redacted(&interpretation.contract),
            confidence = interpretation.confidence,
            backend = %interpretation.backend,
            prompt_version = %interpretation.prompt_version,
            "interpreted"
        );
        Reading::Interpreted(Box::new(interpretation))
    }

    /// What the interpreter-stage providers say about the event's payload;
    /// `Err` when one cannot answer (past its stale bound): a person
    /// decides rather than the model guessing without it.
    async fn context(
        &self,
        envelope: &Envelope,
    ) -> Result<(Map<String, Value>, Vec<ContextUse>), String> {
        let Some(contexts) = self
            .contexts
            .as_ref()
            .filter(|c| c.declared(&self.spec.name))
        else {
            return Ok((Map::new(), Vec::new()));
        };
        let uses = contexts.gather(&self.spec.name, &envelope.data).await;
        let mut found = Map::new();
        for used in &uses {
            match used.answer() {
                Ok(value) => {
                    found.insert(used.name.clone(), value.clone());
                }
                Err(why) => {
                    return Err(format!(
                        "context {} could not be fetched ({why})",
                        used.name
                    ));
                }
            }
        }
        Ok((found, uses))
    }

    /// The primary backend, with one repair for a model's invalid answer.
    /// `Err` is the reason to fall back.
    async fn ask(
        &self,
        request: &InterpretRequest,
        usage: &mut Option<Usage>,
        failed: &mut Vec<String>,
    ) -> Result<Accepted, String> {
        let backend = self.primary.as_ref();
        let answer = backend
            .interpret(request)
            .await
            .map_err(|e| e.to_string())?;
        add_usage(usage, answer.usage);
        let errors = match self.accept(request, &answer) {
            Ok(contract) => return Ok(self.accepted(backend, contract, answer, None)),
            Err(errors) => errors,
        };
        *failed = failing_fields(&errors);
        if !backend.is_model() {
            return Err(format!(
                "the {} backend's output is invalid: {}",
                backend.name(),
                summary(&errors)
            ));
        }
        tracing::info!(
            errors = errors.len(),
            "model output invalid; one repair attempt"
        );
        let mut repair = request.clone();
        repair.messages.push(ChatMessage::new(
            "assistant",
            truncate(&answer.content, 4000),
        ));
        repair
            .messages
            .push(ChatMessage::new("user", repair_text(&errors)));
        repair.budget.spent = usage.unwrap_or_default();
        let second = backend.interpret(&repair).await.map_err(|e| {
            format!(
                "model output invalid ({}); repair failed: {e}",
                summary(&errors)
            )
        })?;
        add_usage(usage, second.usage);
        match self.accept(request, &second) {
            Ok(contract) => Ok(self.accepted(backend, contract, second, None)),
            Err(errors) => Err(format!(
                "model output invalid after one repair: {}",
                summary(&errors)
            )),
        }
    }

    /// The deterministic fallback, if the workflow declares one; `Err` means review.
    fn fall_back(
        &self,
        envelope: &Envelope,
        request: &InterpretRequest,
        reason: String,
    ) -> Result<Accepted, String> {
        let Some(fallback) = &self.fallback else {
            return Err(format!("{reason}; no fallback declared"));
        };
        // The reason may quote model output: it is stored, not logged.
        tracing::warn!(workflow = %envelope.workflow, "model answer unusable; using the deterministic fallback");
        let answer = fallback.answer(request);
        match self.accept(request, &answer) {
            Ok(contract) => Ok(Accepted {
                contract,
                schema_failures: Vec::new(),
                answer,
                backend: "rules".into(),
                model: None,
                fallback_reason: Some(reason),
            }),
            Err(errors) => Err(format!(
                "{reason}; the fallback's output is invalid too: {}",
                summary(&errors)
            )),
        }
    }

    fn accepted(
        &self,
        backend: &dyn Backend,
        contract: Map<String, Value>,
        answer: BackendAnswer,
        fallback_reason: Option<String>,
    ) -> Accepted {
        Accepted {
            contract,
            schema_failures: Vec::new(),
            model: answer
                .model
                .clone()
                .or_else(|| backend.model().map(str::to_owned)),
            answer,
            backend: backend.name().to_owned(),
            fallback_reason,
        }
    }

    /// Parses an answer, puts the fixed fields back, validates.
    fn accept(
        &self,
        request: &InterpretRequest,
        answer: &BackendAnswer,
    ) -> Result<Map<String, Value>, Vec<String>> {
        let workflow = &self.spec.name;
        let not_an_object = |error: String| {
            observe::schema_failure(workflow, ["_answer".to_owned()]);
            vec![error]
        };
        let mut value: Value = serde_json::from_str(answer.content.trim())
            .map_err(|e| not_an_object(format!("the answer is not JSON: {e}")))?;
        drop_nulls(&mut value);
        let Value::Object(mut contract) = value else {
            return Err(not_an_object("the answer is not a JSON object".into()));
        };
        for (field, fixed) in self.fixed_fields(request) {
            contract.insert(field, fixed);
        }
        let candidate = Value::Object(contract.clone());
        let errors = self.contract.errors(&candidate);
        if errors.is_empty() {
            Ok(contract)
        } else {
            observe::schema_failure(workflow, self.contract.failing_fields(&candidate));
            Err(errors)
        }
    }

    fn fixed_fields(&self, request: &InterpretRequest) -> Map<String, Value> {
        self.extractor
            .as_ref()
            .map(|x| x.fixed_fields(&request.source, &request.payload))
            .unwrap_or_default()
    }

    fn finish(
        &self,
        envelope: &Envelope,
        request: &InterpretRequest,
        accepted: Accepted,
        pending: Option<&PendingRequest>,
        usage: Option<Usage>,
        latency: Duration,
    ) -> Interpretation {
        let Accepted {
            mut contract,
            schema_failures,
            answer,
            backend,
            model,
            fallback_reason,
        } = accepted;
        let fixed = self.fixed_fields(request);
        let mut confidence = if answer.field_confidence.is_empty() {
            self.agreement(request, &contract, &fixed)
        } else {
            answer.field_confidence
        };
        let carried_over = pending
            .filter(|p| p.execution_id != envelope.execution_id)
            .map(|p| self.merge(request, &mut contract, &fixed, p, &mut confidence))
            .unwrap_or_default();
        let considered = self.confidence_fields(&confidence, &fixed);
        let refs: Vec<&str> = considered.iter().map(String::as_str).collect();
        Interpretation {
            proposed_action: contract
                .get("action")
                .and_then(Value::as_str)
                .map(str::to_owned),
            contract: Value::Object(contract),
            confidence: overall_confidence(&confidence, &refs),
            field_confidence: confidence,
            backend,
            model,
            prompt_version: self.prompt.version.clone(),
            prompt_sha256: self.prompt.sha256.clone(),
            usage,
            latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
            fallback_reason,
            carried_over,
            schema_failures,
            context: Vec::new(),
        }
    }
}

/// The contract fields named by validation errors (`/party_size: …`, or a
/// missing required property at the root). An answer that failed as a whole
/// (not JSON, not an object) names every field: `*`.
fn failing_fields(errors: &[String]) -> Vec<String> {
    let mut fields = Vec::new();
    for error in errors {
        let field = if let Some(rest) = error.strip_prefix("/: ") {
            // `"time" is a required property`
            rest.split('"').nth(1).map(str::to_owned)
        } else if let Some(path) = error.strip_prefix('/') {
            path.split(['/', ':']).next().map(str::to_owned)
        } else {
            Some("*".to_owned())
        };
        if let Some(field) = field.filter(|f| !f.is_empty())
            && !fields.contains(&field)
        {
            fields.push(field);
        }
    }
    fields
}

fn add_usage(total: &mut Option<Usage>, more: Option<Usage>) {
    if let Some(more) = more {
        let t = total.get_or_insert_with(Usage::default);
        t.prompt_tokens += more.prompt_tokens;
        t.completion_tokens += more.completion_tokens;
        t.cost_usd += more.cost_usd;
    }
}

fn repair_text(errors: &[String]) -> String {
    let list: Vec<String> = errors
        .iter()
        .take(10)
        .map(|e| format!("- {}", truncate(e, 300)))
        .collect();
    format!(
        "Your answer was rejected because it does not match the JSON Schema:\n{}\n\
         Answer again with one JSON object that matches the schema. Leave out fields you cannot determine.",
        list.join("\n")
    )
}

/// The first errors, on one line, bounded (they may quote model output).
fn summary(errors: &[String]) -> String {
    truncate(
        &errors
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("; "),
        400,
    )
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod failing_fields_tests {
    use super::failing_fields;

    #[test]
    fn names_the_fields_that_failed() {
        let errors = [
            "/party_size: -1 is less than the minimum of 1".to_owned(),
            "/: \"sender\" is a required property".to_owned(),
            "/party_size: not an integer".to_owned(),
        ];
        assert_eq!(failing_fields(&errors), ["party_size", "sender"]);
        assert_eq!(
            failing_fields(&["the answer is not JSON: eof".to_owned()]),
            ["*"]
        );
    }
}
