//! The HTTP API: signed webhooks and authenticated manual triggers in,
//! execution status out, and the OpenAPI document that describes them (`openapi.json` next to `Cargo.toml`).

mod events;
mod executions;
pub mod problem;
pub mod trigger;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::sync::Semaphore;

use crate::accept::Acceptor;
use crate::sources::Sources;
pub use problem::ApiError;
use sluice_runtime::rate_limit::RateLimiter;

/// The OpenAPI 3.1 document of this API, served at `GET /v1/openapi.json`.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// Every route the router serves, as `(method, path template)`; the OpenAPI
/// document must describe each (a test checks both directions).
pub const ROUTES: &[(Method, &str)] = &[
    (Method::POST, "/v1/events/{source}"),
    (Method::POST, "/v1/workflows/{workflow}/trigger"),
    (Method::GET, "/v1/executions/{id}"),
    (Method::GET, "/v1/openapi.json"),
];

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    sources: Sources,
    acceptor: Acceptor,
    limiter: RateLimiter,
    trigger_limiter: RateLimiter,
    failed_auth: RateLimiter,
    in_flight: Semaphore,
    retry_after_secs: u64,
    body_timeout: Duration,
}

impl AppState {
    /// State over the loaded sources and the acceptor; `limiter` limits
    /// webhooks per source, `trigger_limiter` triggers per caller.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        sources: Sources,
        acceptor: Acceptor,
        limiter: RateLimiter,
        trigger_limiter: RateLimiter,
        max_in_flight: usize,
        retry_after_secs: u64,
        body_timeout: Duration,
    ) -> Self {
        Self(Arc::new(Inner {
            sources,
            acceptor,
            limiter,
            trigger_limiter,
            failed_auth: trigger::failed_auth_limiter(),
            in_flight: Semaphore::new(max_in_flight.max(1)),
            retry_after_secs,
            body_timeout,
        }))
    }
}

/// The API router (health endpoints are served by the runtime's
/// `HealthServer` on their own port).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/events/{source}", post(events::post_event))
        .route(
            "/v1/workflows/{workflow}/trigger",
            post(trigger::post_trigger),
        )
        .route("/v1/executions/{id}", get(executions::get_execution))
        .route("/v1/openapi.json", get(openapi))
        .fallback(no_route)
        .with_state(state)
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// Records and hands `event` to the pipeline inside `span`: 202 with what
/// was accepted, or 503 naming what is unavailable (nothing was accepted).
async fn accept_in(
    state: &AppState,
    event: &crate::accept::Event<'_>,
    span: tracing::Span,
) -> Result<(StatusCode, axum::Json<crate::accept::Accepted>), ApiError> {
    use tracing::Instrument as _;
    match state
        .0
        .acceptor
        .accept(event)
        .instrument(span.clone())
        .await
    {
        Ok(accepted) => {
            span.in_scope(|| tracing::info!(executions = accepted.executions.len(), "accepted"));
            Ok((StatusCode::ACCEPTED, axum::Json(accepted)))
        }
        Err(err) => {
            span.in_scope(|| tracing::warn!(error = %err, "not accepted"));
            let what = match err {
                crate::accept::AcceptError::Ledger(_) => "the ledger",
                crate::accept::AcceptError::Nats(_) => "NATS",
            };
            Err(ApiError::unavailable(what, state.0.retry_after_secs))
        }
    }
}

/// The checks every POST makes before reading its body: `limited` is the
/// rate limiter's answer (429 with `Retry-After`), then a place among the
/// requests in flight (503 when there is none).
fn admit<'a>(
    state: &'a AppState,
    limited: Result<(), Duration>,
    what: impl FnOnce() -> String,
) -> Result<tokio::sync::SemaphorePermit<'a>, ApiError> {
    if let Err(wait) = limited {
        return Err(
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", what())
                .retry_after(wait.as_secs_f64().ceil() as u64),
        );
    }
    state.0.in_flight.try_acquire().map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "too many requests in flight",
        )
        .retry_after(1)
    })
}

/// A body that must be JSON (400 `malformed_json` otherwise).
fn json_body(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("body is not JSON: {e}"),
        )
    })
}

/// Reads a request body of at most `limit` bytes (413 beyond it, refused
/// before reading when `Content-Length` says so) arriving within `timeout`
/// (408 for a slow sender).
async fn read_body(
    body: axum::body::Body,
    headers: &HeaderMap,
    limit: usize,
    timeout: Duration,
) -> Result<axum::body::Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("body larger than {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let read = tokio::time::timeout(timeout, axum::body::to_bytes(body, limit));
    read.await
        .map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!("the body did not arrive within {} ms", timeout.as_millis()),
            )
        })?
        // The only error left is the limit (or a client that went away,
        // which never reads the answer).
        .map_err(|_| too_large())
}

/// The answer for a path the router does not serve; its code tells it apart
/// from a served route's own 404 (unknown source or execution).
async fn no_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no_route", "no such route")
}
