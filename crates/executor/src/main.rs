//! `sluice-executor`: loads config, starts telemetry and health, runs the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sluice_executor::{Executor, Options};
use sluice_runtime::{HealthServer, Readiness, TelemetryConfig, TelemetryGuard};

/// The Sluice executor: ledger-guarded side effects.
#[derive(Debug, Parser)]
#[command(name = "sluice-executor", version)]
struct Cli {
    /// A TOML configuration file (defaults < file < SLUICE_* env).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = TelemetryConfig::from_env("sluice-executor", std::env::vars());
    let result = async {
        let _telemetry = TelemetryGuard::init(&telemetry)?;
        let options: Options =
            sluice_runtime::config::load(cli.config.as_deref(), std::env::vars(), &[])?;
        let shutdown = sluice_runtime::shutdown::on_signal()?;
        let readiness = Readiness::new();
        readiness.set("executor", false);
        if let Some(addr) = options.http_listen {
            let health = HealthServer::bind(addr).await?;
            tokio::spawn(health.serve(readiness.clone(), shutdown.clone()));
        }
        let executor = Executor::new(options).await?;
        readiness.set("executor", true);
        executor.run(shutdown).await?;
        anyhow::Ok(())
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sluice-executor: {}", format!("{err:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
