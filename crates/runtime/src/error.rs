//! Errors of the runtime plumbing.

/// What can go wrong while a process sets itself up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration does not load or does not match its type.
    #[error("invalid configuration: {0}")]
    Config(#[from] ::config::ConfigError),
    /// The telemetry pipeline could not be built.
    #[error("telemetry: {0}")]
    Telemetry(String),
    /// The health and metrics server could not bind or serve.
    #[error("health server on {addr}: {source}")]
    Health {
        /// The address it tried.
        addr: std::net::SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A signal handler could not be installed.
    #[error("installing signal handlers: {0}")]
    Signal(#[source] std::io::Error),
}
