//! Loading a workflow for an eval and running its cases.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use serde_json::{Map, Value};
use sluice_bus::PendingRequest;
use sluice_core::{CorrelationId, Envelope, ExecutionId, WorkflowSpec};
use sluice_gate::rules::{self, Facts, Policy, Route};
use sluice_interpreter::backend::BackendError;
use sluice_interpreter::workflow::ModelBackends;
use sluice_interpreter::{ApiKey, LoadedWorkflow, ModelOptions, Reading, Registry};

use crate::Error;
use crate::case::{Case, Outcome, bad};
use crate::recorder::{Log, Recording};
use crate::report::{CaseResult, Compare, Got, Report, compare};

/// Which backend answers the cases first.
#[derive(Debug, Clone)]
pub enum BackendChoice {
    /// The workflow's deterministic extractor (`interpret.fallback`).
    Rules,
    /// An OpenAI-compatible endpoint; the workflow's extractor stays the
    /// fallback, as in the service.
    Model(Box<ModelChoice>),
}

/// An OpenAI-compatible endpoint to evaluate.
#[derive(Debug, Clone)]
pub struct ModelChoice {
    /// The backend's name as recorded (`openai`, `fake`).
    pub name: String,
    /// How to reach it (`base_url`, default model, prices, limits).
    pub options: ModelOptions,
    /// Its API key, if it needs one.
    pub api_key: Option<ApiKey>,
    /// The model to ask; default: the workflow's `interpret.model`, else
    /// `options.model`.
    pub model: Option<String>,
}

/// A workflow loaded for an eval: the interpreter's own [`LoadedWorkflow`]
/// with the chosen primary backend, and the gate's [`Policy`].
#[derive(Debug)]
pub struct EvalWorkflow {
    /// The interpreter's view of the workflow.
    pub loaded: LoadedWorkflow,
    policy: Policy,
    log: Arc<Log>,
    endpoint: Option<String>,
    fields: BTreeMap<String, Compare>,
}

impl EvalWorkflow {
    /// Loads the workflow in `dir` with `choice` as its primary backend and
    /// the extractors of `registry`.
    pub fn load(dir: &Path, choice: BackendChoice, registry: &Registry) -> Result<Self, Error> {
        let mut spec = WorkflowSpec::load(dir)?;
        let mut models = ModelBackends::new();
        let mut endpoint = None;
        match choice {
            BackendChoice::Rules => spec.interpret.backend = "rules".into(),
            BackendChoice::Model(m) => {
                let m = *m;
                spec.interpret.backend.clone_from(&m.name);
                if m.model.is_some() {
                    spec.interpret.model = m.model;
                }
                endpoint = Some(m.options.base_url.clone());
                models.insert(m.name, (m.options, m.api_key));
            }
        }
        let policy = Policy::new(spec.clone())?;
        let mut loaded = LoadedWorkflow::load(dir, spec, registry, &models)?;
        let log = Arc::new(Log::default());
        loaded.primary = Arc::new(Recording::new(loaded.primary.clone(), log.clone()));
        let fields = schema_fields(&loaded);
        Ok(Self {
            loaded,
            policy,
            log,
            endpoint,
            fields,
        })
    }

    /// Runs every case, one after the other, and reports each field.
    pub async fn run(&self, cases: &[Case]) -> Result<Report, Error> {
        let mut results = Vec::with_capacity(cases.len());
        for (i, case) in cases.iter().enumerate() {
            let result = self.run_case(case).await?;
            if let (0, Some(url), Some(reason)) = (i, &self.endpoint, unreachable(&result.1)) {
                // A model that does not answer the first case at all is down,
                // not wrong: scoring the fallback's answers would hide it.
                return Err(Error::Unreachable {
                    url: url.clone(),
                    reason,
                });
            }
            results.push(result.0);
        }
        let primary = self.loaded.primary.as_ref();
        Ok(Report {
            workflow: self.loaded.spec.name.clone(),
            backend: primary.name().to_owned(),
            model: primary.model().map(str::to_owned),
            prompt_version: self.loaded.prompt.version.clone(),
            prompt_sha256: self.loaded.prompt.sha256.clone(),
            cases: results,
        })
    }

    async fn run_case(&self, case: &Case) -> Result<(CaseResult, Option<BackendError>), Error> {
        let spec = &self.loaded.spec;
        if case.timezone != spec.timezone {
            let reason = format!(
                "the case is written for {}, but the workflow resolves times in {}",
                case.timezone, spec.timezone
            );
            return Err(bad(&case.origin, reason));
        }
        let source = self.source(case);
        let event_id = case
            .payload
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or(&case.id)
            .to_owned();
        let at = case.now.with_timezone(&Utc);
        let envelope = Envelope::new(
            &source,
            &event_id,
            &spec.name,
            CorrelationId::from_upstream(Some(&case.id)),
            at,
            case.payload.clone(),
        );
        let pending = case.collected.as_ref().map(|parked| PendingRequest {
            // An earlier execution of the same conversation asked.
            execution_id: ExecutionId::derive(&source, &format!("{event_id}:earlier"), &spec.name),
            contract: Value::Object(parked.clone()),
            missing: Vec::new(),
            asked_at: at,
        });
        self.log.take();
        let now = case.now.with_timezone(&self.loaded.timezone);
        let reading = self
            .loaded
            .interpret(&envelope, pending.as_ref(), now)
            .await;
        let calls = self.log.take();
        let first = calls.first();
        let mut result = CaseResult {
            id: case.id.clone(),
            category: case.category.clone(),
            origin: case.origin.clone(),
            known_failure: case.known_failure,
            note: case.note.clone(),
            fields: Vec::new(),
            passed: false,
            backend: None,
            fallback_reason: None,
            review_reason: None,
            confidence: None,
            prompt_sha256: first.map(|c| c.prompt_sha256.clone()),
            answer: first
                .and_then(|c| c.answer.as_ref().ok())
                .map(|a| a.content.clone()),
        };
        let got = match reading {
            Reading::Interpreted(interpretation) => {
                let facts = Facts {
                    source: &envelope.source,
                    data: &envelope.data,
                    interpretation: &interpretation,
                    now: at,
                    switched_off: None,
                    // Spot checks sample live traffic; an eval scores the
                    // rules' own verdict.
                    sample: 1.0,
                    context: None,
                };
                let evaluation = rules::evaluate(&self.policy, &facts);
                result.backend = Some(interpretation.backend.clone());
                result
                    .fallback_reason
                    .clone_from(&interpretation.fallback_reason);
                result.confidence = Some(interpretation.confidence);
                Got {
                    contract: interpretation.contract.as_object().cloned(),
                    outcome: Some(outcome(evaluation.route)),
                    missing: evaluation.decision.missing,
                }
            }
            Reading::NeedsReview { reason } => {
                result.review_reason = Some(reason);
                Got {
                    outcome: Some(Outcome::Uninterpretable),
                    ..Got::default()
                }
            }
        };
        // Fixed metadata fields are copied from the payload, never read from
        // text: compared only where a case lists them.
        let fixed = self.fixed_fields(case);
        let mut fields = self.fields.clone();
        fields.retain(|name, _| !fixed.contains_key(name));
        result.fields = compare(case, &got, &fields);
        result.passed = result.fields.iter().all(|f| f.correct);
        let error = first.and_then(|c| c.answer.clone().err());
        Ok((result, error))
    }
}

impl EvalWorkflow {
    /// The smallest answer that validates for `case`: the schema's required
    /// fields that are not fixed metadata, each with its enum's first value
    /// (`{"action": "create_booking"}` for reservations).
    pub fn empty_answer(&self, case: &Case) -> Value {
        let fixed = self.fixed_fields(case);
        let schema = &self.loaded.contract.schema;
        let required = schema.get("required").and_then(Value::as_array);
        let mut answer = Map::new();
        for name in required.into_iter().flatten().filter_map(Value::as_str) {
            let first = schema
                .pointer(&format!("/properties/{name}/enum/0"))
                .filter(|_| !fixed.contains_key(name));
            if let Some(value) = first {
                answer.insert(name.to_owned(), value.clone());
            }
        }
        Value::Object(answer)
    }

    fn source(&self, case: &Case) -> String {
        case.source
            .clone()
            .or_else(|| self.loaded.spec.sources.first().cloned())
            .unwrap_or_default()
    }

    /// The extractor's fixed metadata fields for `case` (copied from the
    /// payload, never read from text).
    fn fixed_fields(&self, case: &Case) -> Map<String, Value> {
        self.loaded
            .extractor
            .as_ref()
            .map(|x| x.fixed_fields(&self.source(case), &case.payload))
            .unwrap_or_default()
    }
}

/// Why the backend could not be reached, if that is what `error` says.
fn unreachable(error: &Option<BackendError>) -> Option<String> {
    match error {
        Some(e @ (BackendError::Unavailable(_) | BackendError::Timeout(_))) => Some(e.to_string()),
        _ => None,
    }
}

fn outcome(route: Route) -> Outcome {
    match route {
        Route::Auto => Outcome::Auto,
        Route::Review => Outcome::Review,
        Route::Exception => Outcome::Exception,
        Route::Clarify => Outcome::Clarify,
        Route::Reject => Outcome::Reject,
        // No switch is off in an eval; a pause would mean one was.
        Route::Pause => Outcome::Review,
    }
}

/// The contract schema's fields, with how each is compared.
fn schema_fields(loaded: &LoadedWorkflow) -> BTreeMap<String, Compare> {
    loaded
        .contract
        .schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, prop)| {
            let presence = prop.get("x-eval").and_then(Value::as_str) == Some("presence");
            let how = if presence {
                Compare::Presence
            } else {
                Compare::Exact
            };
            (name.clone(), how)
        })
        .collect()
}
