//! What a `sluice` command can fail with, and the exit code each maps to.
//!
//! Commands return `anyhow::Error`; [`exit_code`] looks through its chain for
//! a [`CliError`] (or a ledger, NATS or configuration error that was not
//! wrapped) so `main` stays a one-line mapping.

use tonic::Code;

/// Exit code: the command did what was asked.
pub const EXIT_OK: u8 = 0;
/// Exit code: the operation failed (the default for any error).
pub const EXIT_FAILED: u8 = 1;
/// Exit code: bad flags or configuration (clap uses 2 for usage errors too).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: what was asked for does not exist.
pub const EXIT_NOT_FOUND: u8 = 3;
/// Exit code: NATS or the ledger cannot be reached.
pub const EXIT_UNREACHABLE: u8 = 4;

/// A failure with a documented exit code; the message is one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad flags or configuration.
    #[error("{0}")]
    Usage(String),
    /// The execution, entry or item does not exist.
    #[error("{0}")]
    NotFound(String),
    /// NATS or the ledger cannot be reached.
    #[error("{0}")]
    Unreachable(String),
    /// The operation was refused or failed.
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// The process exit code for this failure.
    pub const fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => EXIT_USAGE,
            CliError::NotFound(_) => EXIT_NOT_FOUND,
            CliError::Unreachable(_) => EXIT_UNREACHABLE,
            CliError::Failed(_) => EXIT_FAILED,
        }
    }

    /// Words a ledger failure for an operator; `url` is the ledger's address.
    pub fn from_ledger(url: &str, err: sluice_ledger::Error) -> Self {
        use sluice_ledger::Error as E;
        match err {
            E::Status(status) => match status.code() {
                Code::NotFound => CliError::NotFound(format!("not found: {}", status.message())),
                Code::Unavailable | Code::DeadlineExceeded => CliError::Unreachable(format!(
                    "cannot reach the ledger at {url}: {}",
                    status.message()
                )),
                Code::Unauthenticated => CliError::Failed(format!(
                    "the ledger at {url} refused the call: no valid token \
                     (set SLUICE_LEDGER_TOKEN or --token)"
                )),
                Code::PermissionDenied => CliError::Failed(format!(
                    "the ledger at {url} refused the call: {}",
                    status.message()
                )),
                code => CliError::Failed(format!(
                    "the ledger at {url} answered {code:?}: {}",
                    status.message()
                )),
            },
            E::Config(msg) => CliError::Usage(msg),
            other => CliError::Failed(format!("ledger at {url}: {other}")),
        }
    }
}

/// Refuses an audited act without a reason before anything is sent: every
/// audit row must say why.
pub fn require_reason(reason: &str) -> Result<(), CliError> {
    if reason.trim().is_empty() {
        return Err(CliError::Usage("--reason must not be empty".to_owned()));
    }
    Ok(())
}

/// The exit code for an error returned by [`crate::run`].
pub fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<CliError>() {
            return e.exit_code();
        }
        if cause.downcast_ref::<sluice_runtime::Error>().is_some() {
            return EXIT_USAGE;
        }
        if let Some(e) = cause.downcast_ref::<sluice_ledger::Error>() {
            return CliError::from_ledger("", clone_kind(e)).exit_code();
        }
        if cause.downcast_ref::<async_nats::ConnectError>().is_some() {
            return EXIT_UNREACHABLE;
        }
    }
    EXIT_FAILED
}

/// Enough of a ledger error to classify it (the error is not `Clone`).
fn clone_kind(err: &sluice_ledger::Error) -> sluice_ledger::Error {
    use sluice_ledger::Error as E;
    match err {
        E::Status(status) => E::Status(tonic::Status::new(status.code(), "")),
        E::Config(msg) => E::Config(msg.clone()),
        other => E::Malformed(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_codes_map_to_documented_exit_codes() {
        let code = |status: tonic::Status| {
            let err = anyhow::Error::from(sluice_ledger::Error::Status(status));
            exit_code(&err.context("while listing"))
        };
        assert_eq!(
            code(tonic::Status::not_found("execution x")),
            EXIT_NOT_FOUND
        );
        assert_eq!(
            code(tonic::Status::unavailable("refused")),
            EXIT_UNREACHABLE
        );
        assert_eq!(code(tonic::Status::internal("boom")), EXIT_FAILED);
        let wrapped = anyhow::Error::from(CliError::Usage("bad".into())).context("x");
        assert_eq!(exit_code(&wrapped), EXIT_USAGE);
        assert_eq!(exit_code(&anyhow::anyhow!("plain")), EXIT_FAILED);
    }
}
