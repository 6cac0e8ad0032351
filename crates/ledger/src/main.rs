//! `sluice-ledger`: parses flags, starts telemetry and runs the library.

use std::process::ExitCode;

use clap::Parser as _;
use sluice_ledger::cli::Cli;
use sluice_runtime::{TelemetryConfig, TelemetryGuard};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = TelemetryConfig::from_env("sluice-ledger", std::env::vars());
    let result = async {
        let _telemetry = TelemetryGuard::init(&telemetry)?;
        let shutdown = sluice_runtime::shutdown::on_signal()?;
        cli.run(shutdown).await.map_err(anyhow::Error::from)
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line an operator can act on, never a panic or a backtrace.
            eprintln!("sluice-ledger: {}", format!("{err:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
