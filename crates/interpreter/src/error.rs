//! The interpreter's error type.

/// What can stop the interpreter from starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A workflow's files (spec, prompt, contract) are missing or invalid,
    /// or it names a backend or extractor that does not exist.
    #[error("workflow {workflow}: {reason}")]
    Workflow {
        /// The workflow (or file) concerned.
        workflow: String,
        /// What is wrong.
        reason: String,
    },
    /// The configuration cannot work.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Loading workflow specs failed.
    #[error(transparent)]
    Core(#[from] sluice_core::Error),
    /// NATS failed.
    #[error(transparent)]
    Bus(#[from] sluice_bus::Error),
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] sluice_ledger::Error),
    /// The health server failed.
    #[error(transparent)]
    Runtime(#[from] sluice_runtime::Error),
}
