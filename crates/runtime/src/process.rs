//! The standard `main` of a Sluice service binary.
//!
//! Every service starts the same way: `--config <file>`, configuration layered
//! over the process environment, one telemetry guard, signal-driven shutdown,
//! `/livez` `/readyz` `/metrics`, then the service's own `run`. A failure ends
//! the process with one line on stderr and a non-zero exit, never a panic.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::{HealthServer, Readiness, TelemetryConfig, TelemetryGuard};

/// Any error a service returns from its start-up or run.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the start-up hands to the service.
pub struct Process {
    /// The process environment (for secret references), read once by `main`.
    pub env: Vec<(String, String)>,
    /// Cancelled on SIGTERM or SIGINT.
    pub shutdown: CancellationToken,
    readiness: Readiness,
    name: &'static str,
}

impl Process {
    /// Marks the service ready: `/readyz` answers 200 from now on.
    pub fn ready(&self) {
        self.readiness.set(self.name, true);
    }
}

/// Runs a service binary: parses `--config`, loads `O` (defaults < file <
/// `SLUICE_*` environment), starts telemetry and the health server on the
/// address `health` picks from the options, then `serve`.
pub fn service_main<O, F, Fut>(
    name: &'static str,
    version: &'static str,
    health: fn(&O) -> Option<SocketAddr>,
    serve: F,
) -> ExitCode
where
    O: DeserializeOwned + Serialize + Default,
    F: FnOnce(O, Process) -> Fut,
    Fut: Future<Output = Result<(), BoxError>>,
{
    let config = match config_flag(name, version) {
        Ok(config) => config,
        Err(err) => err.exit(),
    };
    let env: Vec<(String, String)> = std::env::vars().collect();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(BoxError::from)
        .and_then(|rt| rt.block_on(start(name, config, env, health, serve)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{name}: {}", one_line(err.as_ref()));
            ExitCode::FAILURE
        }
    }
}

async fn start<O, F, Fut>(
    name: &'static str,
    config: Option<PathBuf>,
    env: Vec<(String, String)>,
    health: fn(&O) -> Option<SocketAddr>,
    serve: F,
) -> Result<(), BoxError>
where
    O: DeserializeOwned + Serialize + Default,
    F: FnOnce(O, Process) -> Fut,
    Fut: Future<Output = Result<(), BoxError>>,
{
    let _telemetry = TelemetryGuard::init(&TelemetryConfig::from_env(name, env.clone()))?;
    let options: O = crate::config::load(config.as_deref(), env.clone(), &[])?;
    let shutdown = crate::shutdown::on_signal()?;
    let readiness = Readiness::new();
    readiness.set(name, false);
    if let Some(addr) = health(&options) {
        let server = HealthServer::bind(addr).await?;
        let (readiness, shutdown) = (readiness.clone(), shutdown.clone());
        tokio::spawn(async move {
            if let Err(err) = server.serve(readiness, shutdown).await {
                tracing::error!(error = %err, "health server stopped");
            }
        });
    }
    let process = Process {
        env,
        shutdown,
        readiness,
        name,
    };
    serve(options, process).await
}

fn config_flag(name: &'static str, version: &'static str) -> Result<Option<PathBuf>, clap::Error> {
    let matches = clap::Command::new(name)
        .version(version)
        .about("Configuration: defaults < --config file < SLUICE_* environment (nested keys joined by __).")
        .arg(
            clap::Arg::new("config")
                .long("config")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("A TOML configuration file"),
        )
        .try_get_matches()?;
    Ok(matches.get_one::<PathBuf>("config").cloned())
}

/// An error and its causes on one line, as an operator reads it. A cause
/// whose text the message already contains is not repeated.
pub fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    text.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot start")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn causes_are_joined_on_one_line() {
        let err = Outer(std::io::Error::other("connection refused\non port 1"));
        assert_eq!(one_line(&err), "cannot start: connection refused on port 1");
    }
}
