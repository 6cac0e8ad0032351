//! A workflow ready to interpret: its spec with the prompt loaded and
//! hashed, the contract compiled, and its backends chosen.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono_tz::Tz;
use sluice_core::WorkflowSpec;

use crate::Error;
use crate::backend::openai::{ApiKey, ModelOptions, OpenAiBackend};
use crate::backend::{Backend, rules::RulesBackend};
use crate::contract::Contract;
use crate::prompt::PromptTemplate;
use crate::rules::{Extractor, OpeningHours, Registry};

/// One workflow's interpreter.
#[derive(Debug, Clone)]
pub struct LoadedWorkflow {
    /// The declared spec.
    pub spec: WorkflowSpec,
    /// The compiled contract schema.
    pub contract: Arc<Contract>,
    /// The prompt template with its version and hash.
    pub prompt: PromptTemplate,
    /// The workflow's timezone.
    pub timezone: Tz,
    /// `gate.rules.opening_hours`, if declared.
    pub opening_hours: Option<OpeningHours>,
    /// The backend asked first.
    pub primary: Arc<dyn Backend>,
    /// The deterministic fallback (`interpret.fallback`), if declared.
    pub fallback: Option<RulesBackend>,
    /// The extractor whose fixed fields and text reading apply (the
    /// fallback's, or the primary's when it is `rules`).
    pub extractor: Option<Arc<dyn Extractor>>,
    /// The interpreter-stage context providers (`[[context]] stage =
    /// "interpret"`), when the service asks them; none in offline evals.
    pub contexts: Option<Arc<sluice_context::Contexts>>,
}

/// Model backends by name, with their resolved API keys.
pub type ModelBackends = BTreeMap<String, (ModelOptions, Option<ApiKey>)>;

impl LoadedWorkflow {
    /// Loads the workflow in `dir` (the folder of its `workflow.toml`).
    pub fn load(
        dir: &Path,
        spec: WorkflowSpec,
        registry: &Registry,
        models: &ModelBackends,
    ) -> Result<Self, Error> {
        let fail = |reason: String| Error::Workflow {
            workflow: spec.name.clone(),
            reason,
        };
        let timezone: Tz = spec
            .timezone
            .parse()
            .map_err(|_| fail(format!("unknown timezone {:?}", spec.timezone)))?;
        let contract = Arc::new(Contract::load(&dir.join(&spec.contract))?);
        let prompt = PromptTemplate::load(
            &dir.join(&spec.interpret.prompt),
            &spec.interpret.prompt_version,
        )?;
        // A provider the model is never shown is a mistake in the spec.
        let shown = spec
            .context
            .iter()
            .any(|c| c.stage == sluice_core::workflow::ContextStage::Interpret);
        if shown && !prompt.uses("context") {
            return Err(fail(
                "interpreter-stage [[context]] is declared but the prompt has no {{context}}"
                    .into(),
            ));
        }
        let opening_hours = spec
            .gate
            .rules
            .get("opening_hours")
            .and_then(OpeningHours::from_rule);
        let extractor_named = |name: &str| {
            registry
                .get(name)
                .ok_or_else(|| fail(format!("no deterministic extractor named {name:?}")))
        };
        let fallback_extractor = spec
            .interpret
            .fallback
            .as_deref()
            .map(extractor_named)
            .transpose()?;
        let backend = spec.interpret.backend.as_str();
        let (primary, extractor): (Arc<dyn Backend>, _) = if backend == "rules" {
            // The rules backend runs the workflow's declared extractor.
            let extractor = fallback_extractor.clone().ok_or_else(|| {
                fail("backend \"rules\" needs interpret.fallback to name the extractor".into())
            })?;
            (
                Arc::new(RulesBackend::new(extractor.clone())),
                Some(extractor),
            )
        } else {
            let (options, key) = models
                .get(backend)
                .ok_or_else(|| fail(format!("no model backend {backend:?} is configured")))?;
            let model = OpenAiBackend::new(
                backend,
                spec.interpret.model.as_deref(),
                options.clone(),
                key.clone(),
            )
            .map_err(|e| fail(format!("HTTP client: {e}")))?;
            (Arc::new(model), fallback_extractor.clone())
        };
        let fallback = fallback_extractor
            .filter(|_| backend != "rules")
            .map(RulesBackend::new);
        Ok(Self {
            spec,
            contract,
            prompt,
            timezone,
            opening_hours,
            primary,
            fallback,
            extractor,
            contexts: None,
        })
    }
}
