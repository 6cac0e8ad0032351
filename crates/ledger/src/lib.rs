//! The Sluice idempotency ledger.
//!
//! The only Sluice service with a database connection: idempotency keys with
//! fingerprints, leases and fencing tokens (the effect layer of the two-layer
//! idempotency), the execution state machine and the journal. Services reach
//! it over gRPC through [`LedgerClient`].
//!
//! A server is `Options → Ledger::new → Ledger::serve(listener, shutdown)`,
//! or [`run`] for both; tests start the same code in-process.

pub mod access;
pub mod auth;
pub mod cli;
pub mod client;
pub mod client_options;
pub mod convert;
pub mod error;
pub mod options;
pub mod server;
pub mod store;
mod trace;
pub mod types;

use std::net::SocketAddr;
use std::time::Duration;

use sluice_runtime::{HealthServer, Readiness};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity as TlsIdentity, Server, ServerTlsConfig};
use tonic_health::ServingStatus;

pub use auth::{Identity, Role, TokenTable};
pub use client::{ClientOptions, LedgerClient};
pub use client_options::{LedgerOptions, LedgerTlsOptions};
pub use error::{Error, Result};
pub use options::{Options, TlsOptions};
pub use store::Store;
pub use types::*;

use crate::auth::Authenticator;
use crate::convert::pb::ledger_server::{LedgerServer, SERVICE_NAME};
use crate::server::LedgerService;

/// How often the health reporter checks that Postgres still answers.
const HEALTH_INTERVAL: Duration = Duration::from_secs(5);

/// The readiness check that follows the database.
const READINESS_CHECK: &str = "postgres";

/// A ledger server, connected to its database and ready to serve.
#[derive(Debug)]
pub struct Ledger {
    store: Store,
    options: Options,
}

impl Ledger {
    /// Connects to Postgres (and migrates if asked). Fails with a clear error
    /// when the database cannot be reached.
    pub async fn new(options: Options) -> Result<Self> {
        let store = Store::connect(
            &options.database_url,
            options.max_connections,
            options.connect_timeout,
        )
        .await?;
        let store = if options.group_commit {
            store
        } else {
            store.without_group_commit()
        };
        if options.migrate_on_start {
            store.migrate().await?;
        }
        Ok(Self { store, options })
    }

    /// The store, for embedding and tests.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves gRPC (the ledger and `grpc.health.v1`) on `listener` until
    /// `shutdown` is cancelled, then lets in-flight calls finish within the
    /// grace period.
    pub async fn serve(self, listener: TcpListener, shutdown: CancellationToken) -> Result<()> {
        let tls = self.options.tls.as_ref();
        let auth = Authenticator::new(
            self.options.tokens.clone(),
            tls.is_some(),
            tls.is_some_and(|t| t.client_ca.is_some()),
        );
        let (reporter, health) = tonic_health::server::health_reporter();
        reporter
            .set_service_status(SERVICE_NAME, ServingStatus::Serving)
            .await;
        let readiness = Readiness::new();
        readiness.set(READINESS_CHECK, true);
        if let Some(addr) = self.options.http_listen {
            let http = HealthServer::bind(addr).await?;
            tracing::info!(local = %http.local_addr()?, "health and metrics listening");
            let (readiness, shutdown) = (readiness.clone(), shutdown.clone());
            tokio::spawn(async move {
                if let Err(err) = http.serve(readiness, shutdown).await {
                    tracing::error!(error = %err, "health server stopped");
                }
            });
        }
        tokio::spawn(watch_database(
            self.store.clone(),
            reporter,
            readiness,
            shutdown.clone(),
        ));
        tokio::spawn(purge_keys(
            self.store.clone(),
            self.options.key_retention,
            self.options.purge_interval,
            shutdown.clone(),
        ));

        let mut builder = Server::builder().trace_fn(trace::rpc_span);
        if let Some(tls) = tls {
            builder = builder.tls_config(server_tls(tls).await?)?;
        }
        let settings = Settings {
            key_retention: self.options.key_retention,
        };
        let ledger = LedgerServer::with_interceptor(LedgerService::new(self.store, settings), auth);
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        let serving = builder
            .layer(server::rpc_metrics::RpcMetricsLayer)
            .layer(server::to_completion::ToCompletionLayer)
            .add_service(health)
            .add_service(ledger)
            .serve_with_incoming_shutdown(incoming, shutdown.clone().cancelled_owned());
        let grace = self.options.shutdown_grace;
        tokio::select! {
            served = serving => served?,
            () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(?grace, "grace period over; dropping remaining calls");
            }
        }
        tracing::info!("ledger stopped");
        Ok(())
    }
}

/// Connects, binds `options.listen` and serves until `shutdown`.
pub async fn run(options: Options, shutdown: CancellationToken) -> Result<()> {
    let listen = options.listen;
    let ledger = Ledger::new(options).await?;
    let listener = bind(listen).await?;
    ledger.serve(listener, shutdown).await
}

/// Binds the gRPC listener, logging the address actually bound.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    let listener = TcpListener::bind(addr).await.map_err(|source| Error::Io {
        context: format!("cannot listen on {addr}"),
        source,
    })?;
    if let Ok(local) = listener.local_addr() {
        tracing::info!(%local, "ledger listening");
    }
    Ok(listener)
}

async fn server_tls(tls: &TlsOptions) -> Result<ServerTlsConfig> {
    let read = |path: std::path::PathBuf| async move {
        tokio::fs::read(&path).await.map_err(|source| Error::Io {
            context: format!("cannot read {}", path.display()),
            source,
        })
    };
    let identity =
        TlsIdentity::from_pem(read(tls.cert.clone()).await?, read(tls.key.clone()).await?);
    let mut config = ServerTlsConfig::new().identity(identity);
    if let Some(ca) = &tls.client_ca {
        // Optional so operators can still use bearer tokens over TLS; a
        // presented certificate must chain to this CA.
        config = config
            .client_ca_root(Certificate::from_pem(read(ca.clone()).await?))
            .client_auth_optional(true);
    }
    Ok(config)
}

/// Removes finished keys past their retention, now and every `interval`.
/// Every replica runs it: the deletes skip rows another replica holds and
/// are harmless to repeat, so no leader is needed.
async fn purge_keys(
    store: Store,
    retention: Duration,
    interval: Duration,
    shutdown: CancellationToken,
) {
    loop {
        match store.purge_keys(retention).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, ?retention, "purged finished idempotency keys"),
            Err(err) => tracing::warn!(error = %err, "purging idempotency keys failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(interval.max(Duration::from_secs(1))) => {}
        }
    }
}

/// Keeps the gRPC health status and `/readyz` in step with the database.
async fn watch_database(
    store: Store,
    reporter: tonic_health::server::HealthReporter,
    readiness: Readiness,
    shutdown: CancellationToken,
) {
    let mut serving = true;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(HEALTH_INTERVAL) => {}
        }
        let up = store.ping().await;
        if up != serving {
            serving = up;
            let status = if up {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            tracing::warn!(database_up = up, "ledger health changed");
            readiness.set(READINESS_CHECK, up);
            reporter.set_service_status(SERVICE_NAME, status).await;
        }
    }
    reporter
        .set_service_status(SERVICE_NAME, ServingStatus::NotServing)
        .await;
}
