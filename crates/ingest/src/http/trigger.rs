//! `POST /v1/workflows/{workflow}/trigger`: a person or an upstream system
//! starts one execution of a workflow by hand (`sluice trigger` calls it).
//!
//! The caller shows a ledger token (`Authorization: Bearer …`) with the
//! `trigger`, `sre` or `admin` role; ingest asks the ledger whose it is
//! (`WhoAmI`), so tokens are managed in one place and a trigger token can do
//! nothing else. The body is an event of one of the sources that feed the
//! workflow (`?source=` picks it when there are several) and passes that
//! source's schema. The execution id is derived from the source, the
//! workflow and the caller's `Idempotency-Key` (event id `manual:<key>`), so
//! a repeated request answers the same execution and starts nothing new.
//!
//! Checks run cheapest first; nothing is recorded until all pass: unknown
//! workflow 404, missing or malformed `Idempotency-Key` 400, too many failed
//! authentications from this address 429, no or unknown token 401, a role
//! that may not trigger 403, the caller's own rate limit 429, overload 503,
//! body size 413, JSON 400, schema 422; then 202.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use sluice_core::CorrelationId;
use sluice_ledger::{Identity, Role};
use sluice_runtime::rate_limit::RateLimiter;

use super::events::CORRELATION_HEADER;
use super::{ApiError, AppState, accept_in, admit, json_body, read_body};
use crate::accept::{Accepted, Event};
use crate::sources::Source;

/// The header naming the request: the same key is the same execution.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// The longest idempotency key taken.
const MAX_KEY_LEN: usize = 128;

/// The body limit of a source that declares none (one without webhooks).
const DEFAULT_MAX_BODY: usize = 64 * 1024;

/// Failed authentications allowed per client address: a burst of ten, then
/// one every ten seconds. Guessing tokens is slow, and a flood of bad
/// tokens never reaches the ledger.
pub fn failed_auth_limiter() -> RateLimiter {
    RateLimiter::new(0.1, 10)
}

/// `?source=`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct TriggerQuery {
    source: Option<String>,
}

pub(super) async fn post_trigger(
    State(state): State<AppState>,
    Path(workflow): Path<String>,
    Query(query): Query<TriggerQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let inner = &state.0;
    let source = pick_source(&inner.sources, &workflow, query.source.as_deref())?;
    let key = idempotency_key(&headers)?;
    let caller = authenticate(&state, peer, &headers).await?;
    let _permit = admit(&state, inner.trigger_limiter.check(&caller.name), || {
        format!("too many triggers by {}", caller.name)
    })?;
    let limit = source
        .spec
        .webhook
        .as_ref()
        .map_or(DEFAULT_MAX_BODY, |w| w.max_body_bytes);
    let body = read_body(body, &headers, limit, inner.body_timeout).await?;
    let data = json_body(&body)?;
    source.validate(&data).map_err(ApiError::schema)?;
    let event_id = format!("manual:{key}");
    let value = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let correlation = CorrelationId::from_upstream(value(CORRELATION_HEADER));
    let span = tracing::info_span!(
        "trigger",
        otel.name = "POST /v1/workflows/{workflow}/trigger",
        otel.kind = "server",
        http.request.method = "POST",
        http.route = "/v1/workflows/{workflow}/trigger",
        workflow = %workflow,
        source = %source.spec.name,
        event_id = %event_id,
        correlation_id = %correlation,
        triggered_by = %caller.name,
        stage = "ingest",
    );
    sluice_runtime::propagation::set_remote_parent(
        &span,
        &sluice_runtime::propagation::HttpHeaders(&headers),
    );
    let workflows = [workflow.clone()];
    let event = Event {
        source: &source.spec.name,
        event_id: &event_id,
        workflows: &workflows,
        correlation,
        data: &data,
        via: "manual",
        by: Some(&caller.name),
        traceparent: value(sluice_core::headers::TRACEPARENT),
    };
    accept_in(&state, &event, span).await
}

/// The source whose events start `workflow`: `named`, or the only one.
fn pick_source<'a>(
    sources: &'a crate::sources::Sources,
    workflow: &str,
    named: Option<&str>,
) -> Result<&'a Source, ApiError> {
    let feeding: Vec<&Source> = sources
        .iter()
        .filter(|s| s.spec.workflows.iter().any(|w| w == workflow))
        .collect();
    if feeding.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_workflow",
            format!("no source starts a workflow named {workflow:?}"),
        ));
    }
    match named {
        Some(name) => feeding
            .into_iter()
            .find(|s| s.spec.name == name)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "unknown_source",
                    format!("source {name:?} does not start {workflow}"),
                )
            }),
        None if feeding.len() == 1 => Ok(feeding[0]),
        None => {
            let names: Vec<&str> = feeding.iter().map(|s| s.spec.name.as_str()).collect();
            Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "source_required",
                format!(
                    "{workflow} is started by several sources ({}): name one with ?source=",
                    names.join(", ")
                ),
            ))
        }
    }
}

/// The `Idempotency-Key`: required, so that a retried request can never
/// start a second execution.
fn idempotency_key(headers: &HeaderMap) -> Result<&str, ApiError> {
    let bad = |why: &str| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_idempotency_key",
            format!("Idempotency-Key {why}"),
        )
    };
    let key = headers
        .get(IDEMPOTENCY_HEADER)
        .ok_or_else(|| bad("is required: the same key is the same execution"))?
        .to_str()
        .map_err(|_| bad("is not text"))?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.chars().all(allowed) {
        return Err(bad(&format!(
            "must be 1-{MAX_KEY_LEN} characters of A-Z a-z 0-9 - _ . :"
        )));
    }
    Ok(key)
}

/// Who is calling, by their ledger token; refused unless they may trigger.
async fn authenticate(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<Identity, ApiError> {
    let inner = &state.0;
    let address = peer.ip().to_string();
    // Peeked, not counted: a caller with a good token never uses up the
    // allowance, only failures do.
    if let Err(wait) = inner.failed_auth.peek(&address) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_failures",
            "too many failed authentications from this address",
        )
        .retry_after(wait.as_secs_f64().ceil() as u64));
    }
    let failed = |error: ApiError| {
        let _ = inner.failed_auth.check(&address);
        tracing::warn!(peer = %address, reason = error.error, "trigger refused");
        error
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| failed(ApiError::unauthenticated("a bearer token is required")))?;
    let as_caller = inner
        .acceptor
        .ledger()
        .with_token(token)
        .map_err(|_| failed(ApiError::unauthenticated("the token is not valid")))?;
    let identity = match as_caller.who_am_i().await {
        Ok(identity) => identity,
        Err(sluice_ledger::Error::Status(status))
            if matches!(
                status.code(),
                tonic::Code::Unauthenticated | tonic::Code::PermissionDenied
            ) =>
        {
            return Err(failed(ApiError::unauthenticated(
                "the ledger does not accept this token",
            )));
        }
        Err(err) => {
            tracing::warn!(error = %err, "trigger: the ledger cannot check the token");
            return Err(ApiError::unavailable("the ledger", inner.retry_after_secs));
        }
    };
    if !matches!(identity.role, Role::Trigger | Role::Sre | Role::Admin) {
        return Err(failed(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "the {} role may not trigger workflows (trigger, sre or admin may)",
                identity.role.as_str()
            ),
        )));
    }
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(value: &str) -> Result<String, &'static str> {
        let mut headers = HeaderMap::new();
        headers.insert(IDEMPOTENCY_HEADER, value.parse().map_err(|_| "header")?);
        idempotency_key(&headers)
            .map(str::to_owned)
            .map_err(|e| e.error)
    }

    #[test]
    fn idempotency_keys_are_short_plain_tokens() {
        assert_eq!(key("order-42:retry.1").as_deref(), Ok("order-42:retry.1"));
        assert_eq!(key(""), Err("bad_idempotency_key"));
        assert_eq!(key("two words"), Err("bad_idempotency_key"));
        assert_eq!(key(&"k".repeat(129)), Err("bad_idempotency_key"));
        assert_eq!(
            idempotency_key(&HeaderMap::new()).map_err(|e| e.error),
            Err("bad_idempotency_key")
        );
    }
}
