//! The dead-letter service's errors.

/// Why the dead-letter service could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// NATS could not be reached, or a consumer could not be created.
    #[error(transparent)]
    Bus(#[from] sluice_bus::Error),
    /// The ledger client could not be created.
    #[error(transparent)]
    Ledger(#[from] sluice_ledger::Error),
    /// A name built from the configuration is invalid.
    #[error(transparent)]
    Core(#[from] sluice_core::Error),
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
}
