//! Every Sluice service, plus the example booking service and CRM, in one
//! process.
//!
//! `sluice dev` runs this for a laptop or the demo; the end-to-end tests run
//! the same wiring against a private prefix and fresh databases. Each service
//! is started through its own library entry point — the same code its binary
//! runs — so what is tested here is what is deployed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use booking_service::BookingService;
use sluice_bus::{Bus, NatsOptions, Topology};
use sluice_core::{SourceSpec, WorkflowSpec};
use sluice_executor::Failpoint;
use sluice_interpreter::ModelOptions;
use sluice_ledger::{LedgerOptions, Role, TokenTable};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// What the stack runs against and where it listens.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// The broker and the installation's prefix; provisioning connects
    /// with these, and so does every service without its own entry in
    /// `service_nats`.
    pub nats: NatsOptions,
    /// Per-service NATS settings by service name (`ingest`, `interpreter`,
    /// `gate`, `executor`, `notifier`, `deadletter`): one NATS user per
    /// service, as in production.
    pub service_nats: BTreeMap<String, NatsOptions>,
    /// The ledger's database (migrated at start-up).
    pub ledger_database_url: String,
    /// The example booking service's database (migrated at start-up).
    pub booking_database_url: String,
    /// The example CRM's database (`examples/crm/schema.sql` applied at
    /// start-up): every `postgres` action that names no database of its
    /// own writes there. Never the ledger's.
    pub crm_database_url: String,
    /// Declared workflows.
    pub workflows_dir: PathBuf,
    /// Declared sources.
    pub sources_dir: PathBuf,
    /// The ingest HTTP API.
    pub ingest_listen: SocketAddr,
    /// The example booking service.
    pub booking_listen: SocketAddr,
    /// The ledger's gRPC endpoint.
    pub ledger_listen: SocketAddr,
    /// Whether the booking service honours `Idempotency-Key` (off by
    /// default: the ledger, not the target, prevents duplicates).
    pub honour_idempotency_keys: bool,
    /// The environment services resolve secret references from.
    pub env: Vec<(String, String)>,
    /// Model backends by name (the fake model in tests).
    pub models: BTreeMap<String, ModelOptions>,
    /// Stream and consumer limits; `None` provisions the defaults for the
    /// declared workflows and sources.
    pub topology: Option<Topology>,
    /// A deliberate executor crash point (tests only).
    pub executor_failpoint: Option<Failpoint>,
    /// Where `/livez`, `/readyz` and `/metrics` are served for the whole
    /// process (every service shares its one recorder); `None`: nowhere.
    pub metrics_listen: Option<SocketAddr>,
    /// The ledger's bearer tokens; empty, the ledger runs in insecure dev
    /// mode (every caller is an admin). The stack's services use the first
    /// `service` token.
    pub ledger_tokens: TokenTable,
    /// Where the review console listens; `None`: no console. Operators
    /// sign in with their token from `ledger_tokens`.
    pub console_listen: Option<SocketAddr>,
}

/// A running stack; dropping it cancels every service.
pub struct Stack {
    /// The ingest HTTP API.
    pub ingest: SocketAddr,
    /// The example booking service.
    pub booking: SocketAddr,
    /// The ledger's gRPC endpoint.
    pub ledger: SocketAddr,
    /// `/metrics` (with `/livez` and `/readyz`), when asked for.
    pub metrics: Option<SocketAddr>,
    /// The review console, when asked for.
    pub console: Option<SocketAddr>,
    /// The connection the stack provisioned with.
    pub bus: Bus,
    shutdown: CancellationToken,
    services: JoinSet<anyhow::Result<()>>,
}

impl StackOptions {
    /// The NATS settings of `service`: its own entry in `service_nats`, or
    /// the shared ones.
    pub fn nats_for(&self, service: &str) -> NatsOptions {
        self.service_nats.get(service).unwrap_or(&self.nats).clone()
    }
}

impl Stack {
    /// Provisions the topology, starts the ledger and the booking service,
    /// prepares the example CRM, then the five pipeline services and the
    /// dead-letter service.
    pub async fn start(options: StackOptions) -> anyhow::Result<Self> {
        let shutdown = CancellationToken::new();
        let mut services = JoinSet::new();
        // First, so the recorder is installed before any service records.
        let metrics = start_metrics(&options, &mut services, &shutdown).await?;
        let bus = Bus::connect(&options.nats, "sluice-dev").await?;
        let topology = match options.topology.clone() {
            Some(topology) => topology,
            None => default_topology(&options)?,
        };
        bus.provision(&topology).await.context("provisioning")?;

        let ledger = start_ledger(&options, &mut services, &shutdown).await?;
        super::crm::prepare(&options.crm_database_url).await?;
        let ledger_client = LedgerOptions {
            url: format!("http://{ledger}"),
            token: options
                .ledger_tokens
                .first_token(Role::Service)
                .map(str::to_owned),
            ..Default::default()
        };
        let booking = BookingService::spawn(
            booking_service::Options {
                database_url: options.booking_database_url.clone(),
                listen: options.booking_listen,
                honour_idempotency_keys: options.honour_idempotency_keys,
                ..booking_service::Options::default()
            },
            shutdown.clone(),
        )
        .await
        .context("starting the booking service")?;
        let (booking_addr, booking_url) = (booking.addr, booking.url());
        services.spawn(async move { Ok(booking.wait().await?) });

        super::services::spawn_pipeline(
            &options,
            &ledger_client,
            &booking_url,
            &mut services,
            &shutdown,
        )
        .await?;
        super::services::spawn_deadletter(&options, &ledger_client, &mut services, &shutdown)
            .await?;
        let ingest =
            super::services::start_ingest(&options, &ledger_client, &mut services, &shutdown)
                .await?;
        let console =
            super::services::start_console(&options, &ledger_client, &mut services, &shutdown)
                .await?;
        Ok(Self {
            ingest,
            booking: booking_addr,
            ledger,
            metrics,
            console,
            bus,
            shutdown,
            services,
        })
    }

    /// Cancels every service and waits for them to drain; returns the first
    /// service error, if any.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.join().await
    }

    /// Waits until `shutdown` is cancelled (or a service fails, which stops
    /// the others), then drains.
    pub async fn run_until(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        tokio::select! {
            () = shutdown.cancelled() => {}
            Some(first) = self.services.join_next() => {
                self.shutdown.cancel();
                let rest = self.join().await;
                return flatten(first).and(rest).context("a service stopped");
            }
        }
        self.stop().await
    }

    async fn join(&mut self) -> anyhow::Result<()> {
        let mut result = Ok(());
        while let Some(done) = self.services.join_next().await {
            if let (Ok(()), Err(err)) = (&result, flatten(done)) {
                result = Err(err);
            }
        }
        result
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn flatten(joined: Result<anyhow::Result<()>, tokio::task::JoinError>) -> anyhow::Result<()> {
    joined.map_err(anyhow::Error::from).and_then(|r| r)
}

/// One consumer per pipeline stage of every workflow, one ingest consumer
/// per source that arrives over NATS.
pub fn default_topology(options: &StackOptions) -> anyhow::Result<Topology> {
    let workflows = WorkflowSpec::load_all(&options.workflows_dir)?;
    let sources = SourceSpec::load_all(&options.sources_dir)?;
    Ok(Topology::new(
        workflows.into_iter().map(|w| w.name),
        sources.into_iter().filter(|s| s.nats).map(|s| s.name),
    ))
}

/// Serves the process's metrics (and health probes, always ready while the
/// stack runs) when `metrics_listen` is set.
async fn start_metrics(
    options: &StackOptions,
    services: &mut JoinSet<anyhow::Result<()>>,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<SocketAddr>> {
    let Some(addr) = options.metrics_listen else {
        return Ok(None);
    };
    let server = sluice_runtime::HealthServer::bind(addr).await?;
    let addr = server.local_addr()?;
    let shutdown = shutdown.clone();
    services.spawn(async move {
        Ok(server
            .serve(sluice_runtime::Readiness::new(), shutdown)
            .await?)
    });
    Ok(Some(addr))
}

async fn start_ledger(
    options: &StackOptions,
    services: &mut JoinSet<anyhow::Result<()>>,
    shutdown: &CancellationToken,
) -> anyhow::Result<SocketAddr> {
    let mut ledger_options = sluice_ledger::Options::new(options.ledger_database_url.clone());
    ledger_options.migrate_on_start = true;
    ledger_options.tokens = options.ledger_tokens.clone();
    let listener = sluice_ledger::bind(options.ledger_listen).await?;
    let addr = listener.local_addr()?;
    let ledger = sluice_ledger::Ledger::new(ledger_options)
        .await
        .context("starting the ledger")?;
    let shutdown = shutdown.clone();
    services.spawn(async move { Ok(ledger.serve(listener, shutdown).await?) });
    Ok(addr)
}
