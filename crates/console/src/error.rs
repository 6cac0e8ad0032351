//! The console's error type, and how each error is shown to the operator.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use sluice_ops::review::ApproveError;
use sluice_ops::switches;
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
    /// A form was sent from another site (its `Origin` is not this console).
    #[error("this form was sent from another site; nothing was done")]
    CrossOrigin,
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
    /// An approval was refused or failed.
    #[error(transparent)]
    Approve(ApproveError),
    /// A switch could not be read or changed (a bad key, no reason, or the
    /// change was audited but not written). Boxed: it is rare, and every
    /// console result would otherwise be as large as it.
    #[error(transparent)]
    Switch(Box<switches::Error>),
    /// The declared workflows could not be loaded.
    #[error("{0}")]
    Workflows(String),
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

impl From<ApproveError> for Error {
    /// A ledger refusal keeps its own status and message.
    fn from(err: ApproveError) -> Self {
        match err {
            ApproveError::Ledger(e) => Error::Ledger(e),
            other => Error::Approve(other),
        }
    }
}

/// The console's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The HTTP status the operator gets.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Csrf | Error::CrossOrigin | Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Ledger(sluice_ledger::Error::Status(status)) => match status.code() {
                Code::NotFound => StatusCode::NOT_FOUND,
                Code::PermissionDenied | Code::Unauthenticated => StatusCode::FORBIDDEN,
                Code::FailedPrecondition | Code::Aborted => StatusCode::CONFLICT,
                Code::InvalidArgument => StatusCode::BAD_REQUEST,
                _ => StatusCode::BAD_GATEWAY,
            },
            Error::Ledger(sluice_ledger::Error::NotFound(_)) => StatusCode::NOT_FOUND,
            Error::Ledger(_) | Error::Bus(_) => StatusCode::BAD_GATEWAY,
            Error::Approve(e) => match e {
                ApproveError::NotResumable(_) => StatusCode::CONFLICT,
                ApproveError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                ApproveError::Workflow(_) | ApproveError::UnknownState(_) => {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
                ApproveError::Ledger(_) | ApproveError::Resume(_) => StatusCode::BAD_GATEWAY,
            },
            Error::Switch(e) => match **e {
                switches::Error::InvalidKey { .. } | switches::Error::EmptyReason => {
                    StatusCode::BAD_REQUEST
                }
                _ => StatusCode::BAD_GATEWAY,
            },
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Random | Error::Workflows(_) | Error::Io { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
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

impl From<switches::Error> for Error {
    /// The ledger's and the bus's failures keep their own variants, so a
    /// refusal gets the ledger's status and message like any other call.
    fn from(err: switches::Error) -> Self {
        match err {
            switches::Error::Ledger(e) => Error::Ledger(e),
            switches::Error::Bus(e) => Error::Bus(e),
            other => Error::Switch(Box::new(other)),
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
