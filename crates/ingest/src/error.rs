//! The ingest service's error type.

/// Everything that can stop the ingest service from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A source spec, schema or secret cannot be used.
    #[error("source {source_name}: {reason}")]
    Source {
        /// The source's name (or file).
        source_name: String,
        /// What is wrong, without any secret value.
        reason: String,
    },
    /// A scheduled source cannot be compiled, or its bucket is missing.
    #[error("schedule: {0}")]
    Schedule(String),
    /// The sources folder cannot be read or a spec does not parse.
    #[error(transparent)]
    Spec(#[from] sluice_core::Error),
    /// NATS could not be reached or a consumer is missing.
    #[error(transparent)]
    Bus(#[from] sluice_bus::Error),
    /// The ledger client could not be built.
    #[error(transparent)]
    Ledger(#[from] sluice_ledger::Error),
    /// Binding or serving the HTTP listener failed.
    #[error("HTTP {addr}: {source}")]
    Http {
        /// The address.
        addr: std::net::SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A background task ended abnormally.
    #[error("task failed: {0}")]
    Task(String),
}
