//! What can stop an eval run.

/// Why an eval could not run (a regression is not an error: see
/// [`crate::judge`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The workflow's spec is missing or invalid.
    #[error(transparent)]
    Core(#[from] sluice_core::Error),
    /// The workflow's prompt, contract or backends cannot be loaded.
    #[error(transparent)]
    Interpreter(Box<sluice_interpreter::Error>),
    /// The workflow's gate rules cannot be compiled.
    #[error(transparent)]
    Gate(Box<sluice_gate::Error>),
    /// A case line is malformed or contradicts the workflow.
    #[error("{file}:{line}: {reason}")]
    Case {
        /// The case file.
        file: String,
        /// The line, from 1.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The case files as a whole are unusable (none, unreadable).
    #[error("{0}")]
    Cases(String),
    /// A review decision makes no feedback case, and why.
    #[error("review item {review}: {reason}")]
    Feedback {
        /// The review item.
        review: i64,
        /// Why it makes no case.
        reason: String,
    },
    /// Cases to accept are not in the pending file.
    #[error("not pending in {file}: {}", ids.join(", "))]
    NotPending {
        /// The pending file.
        file: String,
        /// The ids not found there.
        ids: Vec<String>,
    },
    /// The model backend did not answer the first case at all.
    #[error("cannot reach the model at {url}: {reason}")]
    Unreachable {
        /// The endpoint asked.
        url: String,
        /// The backend's error.
        reason: String,
    },
    /// A baseline file cannot be read or written.
    #[error("baseline {path}: {reason}")]
    Baseline {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

impl From<sluice_interpreter::Error> for Error {
    fn from(err: sluice_interpreter::Error) -> Self {
        Error::Interpreter(Box::new(err))
    }
}

impl From<sluice_gate::Error> for Error {
    fn from(err: sluice_gate::Error) -> Self {
        Error::Gate(Box::new(err))
    }
}
