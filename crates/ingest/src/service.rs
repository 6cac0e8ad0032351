//! [`Service`]: options in, HTTP API and NATS input running until shutdown.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use sluice_bus::{Bus, ConsumeLoop, ConsumeOptions};
use sluice_ledger::LedgerClient;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::accept::Acceptor;
use crate::http::{self, AppState};
use crate::nats_input::NatsInput;
use crate::schedule::Scheduler;
use crate::sources::Sources;
use crate::{Error, Options};
use sluice_runtime::rate_limit::RateLimiter;

/// The ingest service, connected and configured, not yet listening.
#[derive(Debug, Clone)]
pub struct Service {
    options: Options,
    sources: Sources,
    bus: Bus,
    acceptor: Acceptor,
}

/// A service bound to its HTTP address, with its NATS consume loops
/// attached, ready to [`run`](Bound::run).
#[derive(Debug)]
pub struct Bound {
    service: Service,
    listener: TcpListener,
    addr: SocketAddr,
    inputs: Vec<(NatsInput, ConsumeLoop)>,
    scheduler: Option<Scheduler>,
}

impl Service {
    /// Loads the sources (secrets resolved from `env`, the process
    /// environment handed in by the binary), connects to NATS and prepares
    /// the (lazily connecting) ledger client.
    pub async fn new(
        options: Options,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, Error> {
        let env: HashMap<String, String> = env.into_iter().collect();
        let sources = Sources::load(&options.sources_dir, &env)?;
        let bus = Bus::connect(&options.nats, "sluice-ingest").await?;
        let ledger = LedgerClient::connect(options.ledger_client()?)?;
        let acceptor = Acceptor::new(ledger, bus.clone(), options.publish_timeout());
        Ok(Self {
            options,
            sources,
            bus,
            acceptor,
        })
    }

    /// The loaded sources.
    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    /// The HTTP API router, for embedding (e.g. `sluice dev`).
    pub fn router(&self) -> axum::Router {
        http::router(AppState::new(
            self.sources.clone(),
            self.acceptor.clone(),
            RateLimiter::new(
                self.options.rate_limit.per_second,
                self.options.rate_limit.burst,
            ),
            RateLimiter::new(
                self.options.trigger_rate.per_second,
                self.options.trigger_rate.burst,
            ),
            self.options.max_in_flight,
            self.options.retry_after_secs,
            self.options.body_timeout(),
        ))
    }

    /// Binds `http_listen` (port 0 picks a free port; see
    /// [`Bound::local_addr`]) and attaches to the ingest consumer of every
    /// `nats = true` source, so that a missing consumer (topology not
    /// provisioned) fails start-up rather than a later outage.
    pub async fn bind(self) -> Result<Bound, Error> {
        let inputs = self.nats_inputs().await?;
        // Compiled and its bucket opened now: a bad cron expression or a
        // missing bucket fails start-up, not the first slot.
        let scheduler = Scheduler::new(
            &self.sources,
            self.acceptor.clone(),
            self.acceptor.ledger().clone(),
            &self.bus,
            Duration::from_millis(self.options.schedule_tick_ms.max(100)),
            Duration::from_millis(self.options.schedule_lease_ms.max(1_000)),
        )
        .await?;
        let want = self.options.http_listen;
        let fail = |source| Error::Http { addr: want, source };
        let listener = TcpListener::bind(want).await.map_err(fail)?;
        let addr = listener.local_addr().map_err(fail)?;
        Ok(Bound {
            service: self,
            listener,
            addr,
            inputs,
            scheduler,
        })
    }

    async fn nats_inputs(&self) -> Result<Vec<(NatsInput, ConsumeLoop)>, Error> {
        let options = ConsumeOptions {
            concurrency: self.options.max_in_flight.max(1),
            grace: self.options.shutdown_grace(),
            ..ConsumeOptions::default()
        };
        let retry_after = Duration::from_secs(self.options.retry_after_secs);
        let mut inputs = Vec::new();
        for source in self.sources.iter().filter(|s| s.spec.nats) {
            let name = source.spec.name.clone();
            let consume = self.bus.ingest_loop(&name, options).await?;
            let input = NatsInput::new(
                name,
                self.sources.clone(),
                self.acceptor.clone(),
                retry_after,
            );
            inputs.push((input, consume));
        }
        Ok(inputs)
    }

    /// Binds and runs until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), Error> {
        self.bind().await?.run(shutdown).await
    }
}

impl Bound {
    /// The address the API listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves the API and consumes NATS input until `shutdown` is cancelled;
    /// either failing stops both.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), Error> {
        let Bound {
            service,
            listener,
            addr,
            inputs,
            scheduler,
        } = self;
        if let Some(scheduler) = scheduler {
            tokio::spawn(scheduler.run(shutdown.clone()));
        }
        // The peer address keys the trigger endpoint's failed-sign-in limit.
        let app = service
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        let http_shutdown = shutdown.clone();
        let http = async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { http_shutdown.cancelled().await })
                .await;
            served.map_err(|source| Error::Http { addr, source })
        };
        tracing::info!(%addr, "ingest API listening");
        let nats = run_inputs(inputs, shutdown.clone());
        let (http, nats) = tokio::join!(
            async {
                let result = http.await;
                shutdown.cancel();
                result
            },
            nats
        );
        http.and(nats)
    }
}

/// Runs every NATS input until `shutdown`; the first failure stops them all.
async fn run_inputs(
    inputs: Vec<(NatsInput, ConsumeLoop)>,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    let mut loops = JoinSet::new();
    for (input, consume) in inputs {
        let handler = move |delivery| {
            let input = input.clone();
            async move { input.handle(delivery).await }
        };
        loops.spawn(consume.run(handler, shutdown.clone()));
    }
    let mut first_error = None;
    while let Some(joined) = loops.join_next().await {
        let failed = match joined {
            Ok(Ok(_)) => continue,
            Ok(Err(err)) => Error::Bus(err),
            Err(join) => Error::Task(join.to_string()),
        };
        shutdown.cancel();
        first_error.get_or_insert(failed);
    }
    first_error.map_or(Ok(()), Err)
}
