//! `POST /v1/events/{source}`: a signed webhook.
//!
//! Checks run cheapest first and nothing is recorded or published until all
//! pass: unknown source 404, rate limit 429, overload 503, body size 413,
//! signature 401, JSON 400, schema 422; then the event is recorded and handed
//! to the interpret stage (202), or 503 when NATS or the ledger cannot take
//! it. A repeated `webhook-id` is answered with the original 202 body.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use sluice_core::CorrelationId;

use super::{ApiError, AppState, accept_in, admit, json_body, read_body};
use crate::accept::{Accepted, Event};
use crate::signature::{self, SignedHeaders};

/// The upstream's correlation id header.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

pub(super) async fn post_event(
    State(state): State<AppState>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let inner = &state.0;
    let Some(spec) = inner
        .sources
        .get(&source)
        .filter(|s| s.spec.webhook.is_some())
    else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_source",
            format!("no webhook source named {source:?}"),
        ));
    };
    let _permit = admit(&state, inner.limiter.check(&source), || {
        "too many requests for this source".to_owned()
    })?;
    let limit = spec.spec.webhook.as_ref().map_or(0, |w| w.max_body_bytes);
    let body = read_body(body, &headers, limit, inner.body_timeout).await?;
    let value = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = SignedHeaders {
        id: value(signature::ID_HEADER),
        timestamp: value(signature::TIMESTAMP_HEADER),
        signature: value(signature::SIGNATURE_HEADER),
    };
    let tolerance = spec.spec.webhook.as_ref().map_or(300, |w| w.tolerance_secs);
    let now = chrono::Utc::now().timestamp();
    let webhook_id =
        signature::verify(signed, &body, &spec.secrets, tolerance, now).map_err(|e| {
            tracing::warn!(source = %source, reason = %e, "webhook refused");
            ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", e.to_string())
        })?;
    let data = json_body(&body)?;
    spec.validate(&data).map_err(|violations| {
        tracing::info!(source = %source, violations = violations.len(), "payload refused by schema");
        ApiError::schema(violations)
    })?;
    let correlation = CorrelationId::from_upstream(value(CORRELATION_HEADER));
    // Ingest's span for the event: an HTTP server span continuing the
    // caller's trace when it sent a `traceparent`.
    let span = tracing::info_span!(
        "webhook",
        otel.name = "POST /v1/events/{source}",
        otel.kind = "server",
        http.request.method = "POST",
        http.route = "/v1/events/{source}",
        source = %source,
        event_id = %webhook_id,
        correlation_id = %correlation,
        stage = "ingest",
    );
    sluice_runtime::propagation::set_remote_parent(
        &span,
        &sluice_runtime::propagation::HttpHeaders(&headers),
    );
    let event = Event {
        source: &source,
        event_id: webhook_id,
        workflows: &spec.spec.workflows,
        correlation,
        data: &data,
        via: "webhook",
        by: None,
        traceparent: value(sluice_core::headers::TRACEPARENT),
    };
    accept_in(&state, &event, span).await
}
