//! The dead-letter service's errors.

use std::time::Duration;

use crate::retention::human;

/// Why the dead-letter service could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// NATS could not be reached, or a consumer could not be created.
    #[error(transparent)]
    Bus(#[from] sluice_bus::Error),
    /// The ledger client could not be created.
    #[error(transparent)]
    Ledger(#[from] sluice_ledger::Error),
    /// A name built from the configuration is invalid, or a declared
    /// workflow does not load.
    #[error(transparent)]
    Core(#[from] sluice_core::Error),
    /// A workflow's escalation webhook cannot be used as declared.
    #[error("workflow {workflow}: escalation webhook: {reason}")]
    Escalation {
        /// The workflow.
        workflow: String,
        /// What is wrong (never the URL, which may hold a credential).
        reason: String,
    },
    /// The HTTP client for escalation webhooks could not be built.
    #[error("escalation HTTP client: {0}")]
    Http(String),
    /// A consumer could not be created or reconciled.
    #[error("consumer {consumer} on stream {stream}: {reason}")]
    Consumer {
        /// The stream.
        stream: String,
        /// The durable consumer.
        consumer: String,
        /// The server's answer, on one line.
        reason: String,
    },
    /// A stream the service needs cannot be read.
    #[error("stream {stream}: {reason}")]
    Stream {
        /// The stream.
        stream: String,
        /// The server's answer, on one line.
        reason: String,
    },
    /// The ledger's key retention does not cover every possible replay.
    #[error(
        "ledger key retention {} is shorter than the dead-letter stream's max age {} plus the \
         replay horizon {} ({}): set SLUICE_LEDGER_KEY_RETENTION to at least {}, or shorten \
         the stream's max age or replay_horizon",
        human(*key_retention),
        human(*dlq_max_age),
        human(*horizon),
        human(dlq_max_age.saturating_add(*horizon)),
        human(dlq_max_age.saturating_add(*horizon))
    )]
    Retention {
        /// The ledger's key retention.
        key_retention: Duration,
        /// The dead-letter stream's max age.
        dlq_max_age: Duration,
        /// The configured replay horizon.
        horizon: Duration,
    },
}
