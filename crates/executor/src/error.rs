//! The executor's error type.

/// What can go wrong starting or running the executor.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration cannot work.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A workflow spec could not be loaded.
    #[error(transparent)]
    Core(#[from] sluice_core::Error),
    /// NATS.
    #[error(transparent)]
    Bus(#[from] sluice_bus::Error),
    /// The ledger.
    #[error(transparent)]
    Ledger(#[from] sluice_ledger::Error),
    /// The HTTP client could not be built.
    #[error("http client: {0}")]
    Http(#[from] reqwest::Error),
}

/// The executor's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
