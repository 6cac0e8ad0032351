//! `Options → Service → run(shutdown)`.

use std::path::Path;

use sluice_bus::{Bus, SwitchGuard, Switches, run_stage};
use sluice_core::workflow::{ContextStage, SwitchedOff};
use sluice_core::{Stage, WorkflowSpec};
use sluice_ledger::LedgerClient;
use tokio_util::sync::CancellationToken;

use crate::context::Contexts;
use crate::drift::DriftMonitor;
use crate::handler::Gate;
use crate::rules::Policy;
use crate::{Clock, Error, Options};

/// The gate service: connected, with its workflows compiled.
pub struct Service {
    options: Options,
    bus: Bus,
    ledger: LedgerClient,
    policies: Vec<Policy>,
    contexts: Contexts,
    clock: Clock,
}

impl Service {
    /// Loads and compiles the workflows, connects to NATS and creates the
    /// ledger client. Fails on the first invalid workflow or rule.
    pub async fn new(options: Options) -> Result<Self, Error> {
        let policies = load_policies(&options.workflows_dir)?;
        // Set up now: a postgres provider without a database fails start-up.
        let contexts = Contexts::new(
            ContextStage::Gate,
            policies
                .iter()
                .map(|p| (p.spec.name.as_str(), p.spec.context.as_slice())),
            &options.context_urls,
            &options.context_databases,
        )?;
        let bus = Bus::connect(&options.nats, "sluice-gate").await?;
        let ledger = options.ledger.connect()?;
        Ok(Self {
            options,
            bus,
            ledger,
            policies,
            contexts,
            clock: Clock::system(),
        })
    }

    /// Replaces the clock ("date in the future" in tests and evals).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The workflows this gate serves.
    pub fn workflows(&self) -> Vec<String> {
        self.policies.iter().map(|p| p.spec.name.clone()).collect()
    }

    /// The workflows that declare a breaker, with it.
    fn policies_breakers(&self) -> Vec<(String, sluice_core::workflow::BreakerSpec)> {
        self.policies
            .iter()
            .filter_map(|p| Some((p.spec.name.clone(), p.spec.gate.breaker.clone()?)))
            .collect()
    }

    /// Consumes the gate stage of every workflow until `shutdown`, then
    /// drains in-flight decisions.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), Error> {
        let workflows = self.workflows();
        let switches = Switches::open(&self.bus).await?;
        // Only workflows that wait while switched off are paused; the others
        // send their items to review and keep consuming.
        let paused_when_off = self
            .policies
            .iter()
            .filter(|p| p.spec.gate.when_switched_off == SwitchedOff::Pause)
            .map(|p| p.spec.name.clone())
            .collect();
        let guard = SwitchGuard::new(
            self.bus.clone(),
            switches.clone(),
            Stage::Gate,
            paused_when_off,
            self.options.switch_pause(),
        );
        let drift = DriftMonitor::new(&self.policies);
        let breaker = crate::breaker::Breaker::new(
            self.ledger.clone(),
            switches.clone(),
            drift.clone(),
            self.policies_breakers(),
            self.options.breaker_every(),
        );
        let conversations = self.bus.conversations().await?;
        let gate = Gate::new(
            self.bus.clone(),
            self.ledger,
            (switches, guard.handle()),
            conversations,
            (self.policies, self.contexts),
            self.clock,
            drift,
        );
        let guarding = tokio::spawn(guard.run(shutdown.clone()));
        let breaking = tokio::spawn(breaker.run(shutdown.clone()));
        let handler = move |delivery| {
            let gate = gate.clone();
            async move { gate.handle(delivery).await }
        };
        let consume = self.options.consume();
        tracing::info!(?workflows, "gate consuming");
        let result = run_stage(
            &self.bus,
            Stage::Gate,
            &workflows,
            consume,
            handler,
            shutdown.clone(),
        )
        .await;
        shutdown.cancel();
        let _ = guarding.await;
        let _ = breaking.await;
        result?;
        Ok(())
    }
}

/// Runs the gate with `options` until `shutdown`.
pub async fn run(options: Options, shutdown: CancellationToken) -> Result<(), Error> {
    Service::new(options).await?.run(shutdown).await
}

fn load_policies(dir: &Path) -> Result<Vec<Policy>, Error> {
    let specs = WorkflowSpec::load_all(dir)?;
    if specs.is_empty() {
        return Err(Error::Config(format!(
            "no workflows declared under {}",
            dir.display()
        )));
    }
    specs.into_iter().map(Policy::new).collect()
}
