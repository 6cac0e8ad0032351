//! `Options → Service → run(shutdown)`.

use std::collections::HashMap;

use sluice_bus::{Bus, run_stage};
use sluice_core::{Stage, WorkflowSpec};
use tokio_util::sync::CancellationToken;

use crate::channel::Channel;
use crate::handler::Notifier;
use crate::{Error, Options};

/// The notifier service: connected, with its channels built.
pub struct Service {
    options: Options,
    bus: Bus,
    workflows: Vec<String>,
    notifier: Notifier,
}

impl Service {
    /// Loads the workflows, connects to NATS, builds the channels and checks
    /// that every workflow's `[notify] channel` is configured.
    pub async fn new(options: Options) -> Result<Self, Error> {
        let specs = WorkflowSpec::load_all(&options.workflows_dir)?;
        if specs.is_empty() {
            return Err(Error::Config(format!(
                "no workflows declared under {}",
                options.workflows_dir.display()
            )));
        }
        let bus = Bus::connect(&options.nats, "sluice-notifier").await?;
        let ledger = options.ledger.connect()?;
        let channels = options
            .channels
            .iter()
            .map(|(name, o)| Ok((name.clone(), Channel::new(o, bus.jetstream())?)))
            .collect::<Result<HashMap<_, _>, Error>>()?;
        let notifier = Notifier::new(bus.clone(), ledger, &specs, &channels, options.lease())?;
        Ok(Self {
            workflows: specs.into_iter().map(|s| s.name).collect(),
            options,
            bus,
            notifier,
        })
    }

    /// The workflows this notifier serves.
    pub fn workflows(&self) -> &[String] {
        &self.workflows
    }

    /// Consumes the notify stage of every workflow until `shutdown`, then
    /// drains in-flight sends.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), Error> {
        let notifier = self.notifier;
        let handler = move |delivery| {
            let notifier = notifier.clone();
            async move { notifier.handle(delivery).await }
        };
        tracing::info!(workflows = ?self.workflows, "notifier consuming");
        let consume = self.options.consume();
        run_stage(
            &self.bus,
            Stage::Notify,
            &self.workflows,
            consume,
            handler,
            shutdown,
        )
        .await?;
        Ok(())
    }
}

/// Runs the notifier with `options` until `shutdown`.
pub async fn run(options: Options, shutdown: CancellationToken) -> Result<(), Error> {
    Service::new(options).await?.run(shutdown).await
}
