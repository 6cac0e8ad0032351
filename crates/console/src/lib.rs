//! The Sluice review console: server-side HTML over the ledger's review
//! queue.
//!
//! An operator signs in with their own ledger token (checked by `WhoAmI`);
//! the console keeps the token in a server-side session and makes every
//! ledger call with it, so the ledger's roles and audit trail see the
//! operator, never the console. Pages: the open queue, one item's handoff
//! in plain language, and the decisions: approve (resuming the execution
//! at the execute stage over NATS), reject and escalate; the kill switches,
//! turned off and on through `sluice_ops::switches` like the CLI; for SREs,
//! the dead letters: list, detail, discard, and replays (through
//! `sluice_ops::replay`) previewed, confirmed and followed while they run.
//!
//! - [`options`]: the typed configuration.
//! - [`session`]: in-memory sessions with their CSRF tokens.
//! - [`auth`]: the session cookie and the signed-in extractor.
//! - [`replays`]: dead-letter replays running in the background.
//! - [`pages`]: the routes and their HTML.

pub mod auth;
pub mod error;
pub mod options;
pub mod pages;
pub mod replays;
pub mod session;
pub mod state;

use std::net::SocketAddr;
use std::sync::Arc;

use sluice_bus::Bus;
use sluice_ops::Catalog;
use sluice_runtime::rate_limit::RateLimiter;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use error::{Error, Result};
pub use options::Options;

use crate::replays::Replays;
use crate::session::Sessions;
use crate::state::AppState;

/// A console bound to its listener, ready to [`run`](Service::run).
pub struct Service {
    listener: TcpListener,
    state: AppState,
}

impl Service {
    /// Binds `options.listen`, checks the ledger options (TLS files) and
    /// the declared workflows, and connects to NATS.
    pub async fn bind(options: Options) -> Result<Self> {
        options.ledger.client_options()?;
        let catalog = Catalog::new(&options.workflows_dir);
        // At start-up, not at the first approval: a missing or broken
        // workflows directory is a deployment error.
        catalog.all().map_err(Error::Workflows)?;
        let bus = Bus::connect(&options.nats, "sluice-console").await?;
        let listener = TcpListener::bind(options.listen)
            .await
            .map_err(|source| Error::Io {
                context: format!("cannot listen on {}", options.listen),
                source,
            })?;
        let state = AppState {
            sessions: Sessions::new(options.session_ttl()),
            ledger: options.ledger.clone(),
            bus,
            catalog: Arc::new(catalog),
            failed_sign_ins: Arc::new(RateLimiter::new(
                options.failed_sign_ins_per_second,
                options.failed_sign_ins_burst,
            )),
            replays: Replays::new(),
            secure_cookie: options.secure_cookie,
        };
        Ok(Self { listener, state })
    }

    /// Where the console listens.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.listener.local_addr().map_err(|source| Error::Io {
            context: "cannot read the listening address".to_owned(),
            source,
        })
    }

    /// Serves pages until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        let addr = self.local_addr()?;
        tracing::info!(%addr, "review console listening");
        let replays = self.state.replays.clone();
        // The peer's address keys the failed sign-in limit.
        let app = pages::router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
        // Running replays stop before their next entry; each can be resumed
        // by running its batch again.
        replays.shutdown().await;
        served.map_err(|source| Error::Io {
            context: "serving the console".to_owned(),
            source,
        })
    }
}
