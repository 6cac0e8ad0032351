//! The notifier's error type.

/// What can stop the notifier from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A workflow spec could not be loaded.
    #[error(transparent)]
    Core(#[from] sluice_core::Error),
    /// NATS could not be reached or a consume loop failed.
    #[error(transparent)]
    Bus(#[from] sluice_bus::Error),
    /// The ledger client could not be created.
    #[error(transparent)]
    Ledger(#[from] sluice_ledger::Error),
    /// The options cannot work (unknown channel, bad URL…).
    #[error("invalid notifier configuration: {0}")]
    Config(String),
}
