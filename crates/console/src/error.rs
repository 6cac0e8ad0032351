//! The console's error type, and how each error is shown to the operator.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use tonic::Code;

use crate::pages::layout;

/// Everything that can go wrong in the console.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The form's CSRF token is missing or wrong; nothing was done.
    #[error(
        "this form has expired or did not come from the console; reload the page and try again"
    )]
    Csrf,
    /// The operator's role may not do this.
    #[error("your role may not do this: {0}")]
    Forbidden(&'static str),
    /// The request is incomplete (an empty reason…).
    #[error("{0}")]
    BadRequest(&'static str),
    /// The ledger refused or failed a call.
    #[error(transparent)]
    Ledger(#[from] sluice_ledger::Error),
    /// NATS could not be reached or refused a publish.
    #[error(transparent)]
    Bus(#[from] sluice_bus::Error),
    /// The item was approved but the execution could not be resumed.
    #[error("approved, but resuming the execution failed ({0}); approve again to resume it")]
    Resume(String),
    /// The item cannot be approved from here.
    #[error("{0}")]
    Conflict(String),
    /// What the page is about is not known to the console (a replay of
    /// another console, or from before a restart).
    #[error("{0}")]
    NotFound(String),
    /// The system's random number generator failed.
    #[error("cannot draw random bytes for a session or batch id")]
    Random,
    /// Binding or serving the HTTP listener failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// The console's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The HTTP status the operator gets.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Csrf | Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Ledger(sluice_ledger::Error::Status(status)) => match status.code() {
                Code::NotFound => StatusCode::NOT_FOUND,
                Code::PermissionDenied | Code::Unauthenticated => StatusCode::FORBIDDEN,
                Code::FailedPrecondition | Code::Aborted => StatusCode::CONFLICT,
                Code::InvalidArgument => StatusCode::BAD_REQUEST,
                _ => StatusCode::BAD_GATEWAY,
            },
            Error::Ledger(sluice_ledger::Error::NotFound(_)) => StatusCode::NOT_FOUND,
            Error::Ledger(_) | Error::Bus(_) | Error::Resume(_) => StatusCode::BAD_GATEWAY,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Random | Error::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the operator reads: the ledger's own message for its refusals.
    fn explanation(&self) -> String {
        match self {
            Error::Ledger(sluice_ledger::Error::Status(status)) => status.message().to_owned(),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(error = %self, "console request failed");
        }
        let title = status.canonical_reason().unwrap_or("Error");
        let body = maud::html! {
            h1 { (title) }
            p role="alert" { (self.explanation()) }
            p { a href="/reviews" { "Back to the review queue" } }
        };
        (status, Html(layout::page(title, None, body).into_string())).into_response()
    }
}
