//! Error answers of the HTTP API: `{"error": <code>, "message": <text>}`,
//! plus `errors` for schema violations, and `Retry-After` on 429 and 503.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::sources::SchemaViolation;

/// One error answer.
#[derive(Debug, Clone, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    #[serde(skip)]
    retry_after: Option<u64>,
    #[serde(skip)]
    bearer_challenge: bool,
    /// A stable machine-readable code.
    pub error: &'static str,
    /// One line for a person.
    pub message: String,
    /// Schema violations (422 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<SchemaViolation>,
}

impl ApiError {
    /// An error answer with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            retry_after: None,
            bearer_challenge: false,
            error: code,
            message: message.into(),
            errors: Vec::new(),
        }
    }

    /// Adds `Retry-After: <secs>` (at least 1).
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    /// 401 asking for a bearer token (`WWW-Authenticate: Bearer`).
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self {
            bearer_challenge: true,
            ..Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
        }
    }

    /// 503: NATS or the ledger is unavailable; nothing was accepted.
    pub fn unavailable(what: &str, retry_after: u64) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("{what} is unavailable; nothing was accepted, try again later"),
        )
        .retry_after(retry_after)
    }

    /// 422 with the violations.
    pub fn schema(violations: Vec<SchemaViolation>) -> Self {
        Self {
            errors: violations,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "schema_mismatch",
                "the payload does not match the source's schema",
            )
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, retry_after, challenge) =
            (self.status, self.retry_after, self.bearer_challenge);
        let mut response = (status, Json(self)).into_response();
        if challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sluice\""),
            );
        }
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
