//! [`Executor`]: options → connected service → `run(shutdown)`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sluice_bus::{
    Bus, Delivery, GuardHandle, HandlerError, Outcome, Stopped, SwitchGuard, Switches,
};
use sluice_core::{Stage, WorkflowSpec};
use sluice_ledger::LedgerClient;
use tokio_util::sync::CancellationToken;

use crate::connector::Connectors;
use crate::settings::ActionSettings;
use crate::{Error, Failpoint, Options, Result};

/// A workflow with its actions' parsed settings (in saga order).
pub(crate) struct Workflow {
    pub(crate) spec: WorkflowSpec,
    pub(crate) settings: Vec<ActionSettings>,
}

/// What every handler shares.
pub(crate) struct Inner {
    pub(crate) bus: Bus,
    pub(crate) ledger: LedgerClient,
    pub(crate) connectors: Connectors,
    pub(crate) workflows: HashMap<String, Workflow>,
    pub(crate) owner: String,
    pub(crate) lease: Duration,
    pub(crate) quick_retries: u32,
    /// Kill switches, read before every effect.
    pub(crate) switches: Switches,
    /// Wakes the guard that pauses a switched-off workflow's consumer.
    pub(crate) guard: GuardHandle,
    failpoint: Option<Failpoint>,
    failpoint_fired: AtomicBool,
}

impl Inner {
    /// Whether the failpoint fires now. `AbortAfterEffect` never returns.
    pub(crate) fn failpoint_fires(&self) -> bool {
        match self.failpoint {
            Some(Failpoint::AbortAfterEffect) => {
                tracing::error!("failpoint abort_after_effect: aborting before Complete");
                std::process::abort()
            }
            Some(Failpoint::StopAfterEffect) => !self.failpoint_fired.swap(true, Ordering::SeqCst),
            Some(Failpoint::SkipLedgerGuard) | None => false,
        }
    }

    /// Whether the duplicate-effect mutant is on (see [`Failpoint::SkipLedgerGuard`]).
    pub(crate) fn skips_ledger_guard(&self) -> bool {
        self.failpoint == Some(Failpoint::SkipLedgerGuard)
    }
}

/// The executor service: consumes `execute`, publishes `notify`.
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
    options: Options,
    guard: SwitchGuard,
}

impl Executor {
    /// Loads the workflows from `options.workflows_dir` and connects.
    pub async fn new(options: Options) -> Result<Self> {
        let workflows = WorkflowSpec::load_all(&options.workflows_dir)?;
        Self::with_workflows(options, workflows).await
    }

    /// Connects with the given workflows (tests and `sluice dev` adjust them).
    /// Every action's settings are checked now: a broken spec stops start-up.
    pub async fn with_workflows(options: Options, workflows: Vec<WorkflowSpec>) -> Result<Self> {
        options.check_failpoint()?;
        if options.failpoint == Some(Failpoint::SkipLedgerGuard) {
            tracing::error!("MUTANT: the ledger's guard is skipped; effects WILL be duplicated");
        }
        let bus = Bus::connect(&options.nats, "sluice-executor").await?;
        let ledger = options.ledger.connect()?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        let connectors = Connectors::new(http, bus.jetstream().clone());
        let mut by_name = HashMap::new();
        for spec in workflows {
            let settings = spec
                .actions
                .iter()
                .map(|a| ActionSettings::parse(a, options.action_settings.get(&a.name)))
                .collect::<Result<Vec<_>>>()?;
            by_name.insert(spec.name.clone(), Workflow { spec, settings });
        }
        if by_name.is_empty() {
            return Err(Error::Config("no workflows to execute".into()));
        }
        let owner = options.owner.clone().unwrap_or_else(default_owner);
        let switches = Switches::open(&bus).await?;
        let mut names: Vec<String> = by_name.keys().cloned().collect();
        names.sort();
        let guard = SwitchGuard::new(
            bus.clone(),
            switches.clone(),
            Stage::Execute,
            names,
            options.switch_pause(),
        );
        let inner = Inner {
            bus,
            ledger,
            connectors,
            workflows: by_name,
            owner,
            lease: options.lease(),
            quick_retries: options.quick_retries,
            switches,
            guard: guard.handle(),
            failpoint: options.failpoint,
            failpoint_fired: AtomicBool::new(false),
        };
        Ok(Self {
            inner: Arc::new(inner),
            options,
            guard,
        })
    }

    /// The workflows this executor serves.
    pub fn workflows(&self) -> Vec<String> {
        let mut names: Vec<String> = self.inner.workflows.keys().cloned().collect();
        names.sort();
        names
    }

    /// Handles one delivery of the execute stage.
    pub async fn handle(&self, delivery: Delivery) -> Result<Outcome, HandlerError> {
        crate::handler::handle(&self.inner, delivery).await
    }

    /// Consumes the execute stage of every workflow until `shutdown`, then
    /// drains within the grace period.
    pub async fn run(self, shutdown: CancellationToken) -> Result<Stopped> {
        let workflows = self.workflows();
        let consume = self.options.consume();
        let bus = self.inner.bus.clone();
        let guarding = tokio::spawn(self.guard.clone().run(shutdown.clone()));
        let handler = move |delivery: Delivery| {
            let this = self.clone();
            async move { this.handle(delivery).await }
        };
        let stopped = sluice_bus::run_stage(
            &bus,
            Stage::Execute,
            &workflows,
            consume,
            handler,
            shutdown.clone(),
        )
        .await;
        shutdown.cancel();
        let _ = guarding.await;
        Ok(stopped?)
    }
}

/// Loads, connects and runs until `shutdown`.
pub async fn run(options: Options, shutdown: CancellationToken) -> Result<()> {
    Executor::new(options).await?.run(shutdown).await?;
    Ok(())
}

/// `<hostname>/<pid>/<uuid>`: unique per process, readable in the ledger.
fn default_owner() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "executor".to_owned());
    format!(
        "{host}/{}/{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    )
}
