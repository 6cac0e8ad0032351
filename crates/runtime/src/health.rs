//! `/livez`, `/readyz` and `/metrics` on one small HTTP server.
//!
//! Liveness says the process can still serve HTTP at all; readiness says every
//! dependency the service registered (NATS, the ledger, Postgres…) is usable
//! and the process is not shutting down, so Kubernetes stops routing to it
//! while it drains.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::Error;

/// Named readiness checks, shared between the service and its health server.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    checks: Arc<RwLock<BTreeMap<&'static str, bool>>>,
}

impl Readiness {
    /// No checks yet: ready until a check is registered as not ready.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the state of the check `name`, registering it if new.
    pub fn set(&self, name: &'static str, ready: bool) {
        if let Ok(mut checks) = self.checks.write() {
            checks.insert(name, ready);
        }
    }

    /// Whether every registered check is ready.
    pub fn is_ready(&self) -> bool {
        self.checks
            .read()
            .map(|checks| checks.values().all(|ready| *ready))
            .unwrap_or(false)
    }

    fn report(&self) -> String {
        match self.checks.read() {
            Ok(checks) => checks
                .iter()
                .map(|(name, ready)| {
                    format!("{name}: {}\n", if *ready { "ok" } else { "not ready" })
                })
                .collect(),
            Err(_) => "poisoned\n".to_owned(),
        }
    }
}

pub use crate::recorder::metrics_handle;

#[derive(Clone)]
struct AppState {
    readiness: Readiness,
    shutdown: CancellationToken,
    metrics: PrometheusHandle,
}

/// A bound health server, ready to serve.
pub struct HealthServer {
    listener: TcpListener,
}

impl HealthServer {
    /// Binds `addr` (port 0 picks a free port) and installs the metrics
    /// recorder, so what the service records from now on is served.
    pub async fn bind(addr: SocketAddr) -> Result<Self, Error> {
        metrics_handle();
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Health { addr, source })?;
        Ok(Self { listener })
    }

    /// The bound address.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.listener.local_addr().map_err(|source| Error::Health {
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            source,
        })
    }

    /// Serves until `shutdown` is cancelled. Readiness turns false as soon as
    /// shutdown starts.
    pub async fn serve(
        self,
        readiness: Readiness,
        shutdown: CancellationToken,
    ) -> Result<(), Error> {
        let addr = self.local_addr()?;
        let state = AppState {
            readiness,
            shutdown: shutdown.clone(),
            metrics: metrics_handle(),
        };
        let app = Router::new()
            .route("/livez", get(|| async { "ok\n" }))
            .route("/readyz", get(readyz))
            .route("/metrics", get(render_metrics))
            .with_state(state);
        axum::serve(self.listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
            .map_err(|source| Error::Health { addr, source })
    }
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.shutdown.is_cancelled() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting down\n".to_owned(),
        );
    }
    let status = if state.readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, state.readiness.report())
}

async fn render_metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.metrics.run_upkeep();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
