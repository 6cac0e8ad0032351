//! `Options → Service → run(shutdown)`.

use std::collections::BTreeMap;

use sluice_bus::{Bus, ConsumeOptions, Stopped};
use sluice_core::{Stage, WorkflowSpec};
use tokio_util::sync::CancellationToken;

use crate::backend::openai::ApiKey;
use crate::rules::Registry;
use crate::stage::{InterpretHandler, StageContext};
use crate::workflow::{LoadedWorkflow, ModelBackends};
use crate::{Error, Options};

/// A connected interpreter, ready to run.
#[derive(Debug)]
pub struct Service {
    bus: Bus,
    handler: InterpretHandler,
    workflows: Vec<String>,
    consume: ConsumeOptions,
}

impl Service {
    /// Loads the workflows (with the built-in extractors), connects to NATS
    /// and the ledger. `env` resolves API keys named by `api_key_env`.
    pub async fn new(
        options: Options,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, Error> {
        let bus = Bus::connect(&options.nats, "sluice-interpreter").await?;
        Self::with_bus(options, env, bus, Registry::with_builtin()).await
    }

    /// As [`Service::new`] over an existing connection and extractor registry.
    pub async fn with_bus(
        options: Options,
        env: impl IntoIterator<Item = (String, String)>,
        bus: Bus,
        registry: Registry,
    ) -> Result<Self, Error> {
        let models = resolve_models(&options, env.into_iter().collect())?;
        let mut loaded = BTreeMap::new();
        for spec in WorkflowSpec::load_all(&options.workflows_dir)? {
            if !options.workflows.is_empty() && !options.workflows.contains(&spec.name) {
                continue;
            }
            let dir = options.workflows_dir.join(&spec.name);
            let name = spec.name.clone();
            loaded.insert(name, LoadedWorkflow::load(&dir, spec, &registry, &models)?);
        }
        if loaded.is_empty() {
            return Err(Error::Config(format!(
                "no workflows in {}",
                options.workflows_dir.display()
            )));
        }
        // Set up now: a postgres provider without a database fails start-up.
        let contexts = std::sync::Arc::new(
            sluice_context::Contexts::new(
                sluice_core::workflow::ContextStage::Interpret,
                loaded
                    .values()
                    .map(|w| (w.spec.name.as_str(), w.spec.context.as_slice())),
                &options.context_urls,
                &options.context_databases,
            )
            .map_err(|e| Error::Config(e.to_string()))?,
        );
        for workflow in loaded.values_mut() {
            workflow.contexts = Some(contexts.clone());
        }
        let ledger = options.ledger.connect()?;
        let workflows = loaded.keys().cloned().collect();
        let ctx = StageContext {
            bus: bus.clone(),
            ledger,
            workflows: loaded,
            owner: options
                .owner
                .clone()
                .unwrap_or_else(|| format!("sluice-interpreter:{}", std::process::id())),
        };
        let consume = ConsumeOptions {
            concurrency: options.concurrency.max(1),
            ..ConsumeOptions::default()
        };
        Ok(Self {
            bus,
            handler: InterpretHandler::new(ctx),
            workflows,
            consume,
        })
    }

    /// Replaces the consume-loop settings (tests use short pulls).
    pub fn with_consume_options(mut self, consume: ConsumeOptions) -> Self {
        self.consume = consume;
        self
    }

    /// The workflows this service interprets.
    pub fn workflows(&self) -> &[String] {
        &self.workflows
    }

    /// The stage handler (for embedding in `sluice dev`).
    pub fn handler(&self) -> InterpretHandler {
        self.handler.clone()
    }

    /// Consumes the interpret stage of every workflow until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) -> Result<Stopped, Error> {
        let handler = self.handler.clone();
        let handle = move |delivery| {
            let handler = handler.clone();
            async move { handler.handle(delivery).await }
        };
        Ok(sluice_bus::run_stage(
            &self.bus,
            Stage::Interpret,
            &self.workflows,
            self.consume,
            handle,
            shutdown,
        )
        .await?)
    }
}

fn resolve_models(
    options: &Options,
    env: BTreeMap<String, String>,
) -> Result<ModelBackends, Error> {
    let mut out = ModelBackends::new();
    for (name, model) in &options.models {
        let key = if let Some(var) = &model.api_key_env {
            Some(ApiKey::new(env.get(var).cloned().ok_or_else(|| {
                Error::Config(format!("models.{name}.api_key_env: {var} is not set"))
            })?))
        } else if let Some(path) = &model.api_key_file {
            let key = std::fs::read_to_string(path).map_err(|e| {
                Error::Config(format!(
                    "models.{name}.api_key_file {}: {e}",
                    path.display()
                ))
            })?;
            Some(ApiKey::new(key.trim()))
        } else {
            None
        };
        out.insert(name.clone(), (model.clone(), key));
    }
    Ok(out)
}
