//! An example target system for Sluice: a small restaurant booking API.
//!
//! It is deliberately *not* trustworthy, so that tests and the demo can prove
//! that Sluice's ledger, not the target, prevents duplicate effects:
//!
//! - honouring of the `Idempotency-Key` header can be switched off (then a
//!   retried request creates a second booking), from config or at runtime
//!   with `POST /admin/idempotency {"honour": bool}`;
//! - faults can be injected per endpoint (added latency, the next N requests
//!   failing with a status, hanging, or "apply then drop the response"), from
//!   config or at runtime with `POST /admin/faults`.
//!
//! Every booking records the key it came with, so `GET /bookings/counts`
//! shows how many bookings each key produced.
//!
//! | route | what |
//! |---|---|
//! | `POST /bookings` | create a booking (201) |
//! | `GET /bookings/by-key/{key}` | the booking created with a key (status probe), 404 if none |
//! | `GET /bookings/counts`, `GET /v1/admin/counts` | bookings per key and in total |
//! | `GET /availability?date=&time=&party_size=` | whether the slot has room, and the nearest free times |
//! | `POST /v1/messages`, `GET /v1/messages` | outbound messages (stands in for WhatsApp) |
//! | `GET/POST /admin/faults`, `GET/POST /admin/idempotency`, `GET/POST /admin/capacity` | runtime switches |

mod admin;
mod availability;
mod bookings;
pub mod faults;
mod messages;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use availability::Capacity;
pub use faults::{EndpointFaults, Faults};

/// The booking service's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    /// Its own Postgres database (never Sluice's).
    pub database_url: String,
    /// Where it listens; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Whether a repeated `Idempotency-Key` returns the original booking.
    /// Off by default, like the reservation workflow declares
    /// (`honours_idempotency_key = false`).
    pub honour_idempotency_keys: bool,
    /// Faults injected from the start.
    pub faults: Faults,
    /// Seats per slot (unlimited unless set) and slots already full.
    pub capacity: Capacity,
    /// Connection pool size.
    pub max_connections: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            database_url: "postgres://postgres@127.0.0.1:5432/booking".to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8090)),
            honour_idempotency_keys: false,
            faults: Faults::default(),
            capacity: Capacity::default(),
            max_connections: 8,
        }
    }
}

/// What can go wrong starting the service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be reached or queried.
    #[error("booking database: {0}")]
    Database(#[from] sqlx::Error),
    /// The migrations failed.
    #[error("booking migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Binding or serving failed.
    #[error("booking service on {addr}: {source}")]
    Io {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// Shared by every handler.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) pool: PgPool,
    pub(crate) honour: Arc<AtomicBool>,
    pub(crate) faults: faults::FaultState,
    pub(crate) capacity: availability::CapacityState,
    pub(crate) shutdown: CancellationToken,
}

impl AppState {
    pub(crate) fn honours_keys(&self) -> bool {
        self.honour.load(Ordering::SeqCst)
    }
}

/// A running booking service.
#[derive(Debug)]
pub struct BookingService {
    /// Where it listens.
    pub addr: SocketAddr,
    task: JoinHandle<Result<(), Error>>,
}

impl BookingService {
    /// Connects to the database, applies the migrations, binds
    /// `options.listen` and serves in the background until `shutdown`.
    pub async fn spawn(options: Options, shutdown: CancellationToken) -> Result<Self, Error> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(&options.database_url)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        let addr = options.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Io { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| Error::Io { addr, source })?;
        let state = AppState {
            pool,
            honour: Arc::new(AtomicBool::new(options.honour_idempotency_keys)),
            faults: faults::FaultState::new(options.faults),
            capacity: availability::CapacityState::new(options.capacity),
            shutdown: shutdown.clone(),
        };
        let app = router(state);
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await
                .map_err(|source| Error::Io { addr, source })
        });
        tracing::info!(%addr, "booking service listening");
        Ok(Self { addr, task })
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until the server has stopped (after `shutdown`).
    pub async fn wait(self) -> Result<(), Error> {
        match self.task.await {
            Ok(result) => result,
            Err(join) => Err(Error::Io {
                addr: self.addr,
                source: std::io::Error::other(join.to_string()),
            }),
        }
    }
}

/// Runs the service until `shutdown` is cancelled.
pub async fn run(options: Options, shutdown: CancellationToken) -> Result<(), Error> {
    BookingService::spawn(options, shutdown).await?.wait().await
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/bookings", post(bookings::create))
        .route("/bookings/by-key/{key}", get(bookings::by_key))
        .route("/bookings/{id}", get(bookings::by_id))
        .route("/bookings/counts", get(bookings::counts))
        .route("/availability", get(availability::check))
        .route("/v1/admin/counts", get(bookings::counts))
        .route("/v1/messages", post(messages::send).get(messages::list))
        .route(
            "/admin/faults",
            get(admin::get_faults).post(admin::set_faults),
        )
        .route(
            "/admin/capacity",
            get(availability::get_capacity).post(availability::set_capacity),
        )
        .route(
            "/admin/idempotency",
            get(admin::get_idempotency).post(admin::set_idempotency),
        )
        .with_state(state)
}
