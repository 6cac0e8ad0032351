//! The gate's error type.

/// What can stop the gate from starting or running.
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
    /// A workflow's gate rules or timezone are invalid.
    #[error("workflow {workflow}: {reason}")]
    Rules {
        /// The workflow.
        workflow: String,
        /// What is wrong, on one line.
        reason: String,
    },
    /// The options cannot work.
    #[error("invalid gate configuration: {0}")]
    Config(String),
    /// A context provider cannot be set up.
    #[error(transparent)]
    Context(#[from] sluice_context::Error),
}
