//! `sluice-interpreter`: loads config, starts telemetry and health, runs the stage.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sluice_interpreter::{Options, Service};
use sluice_runtime::{HealthServer, Readiness, TelemetryConfig, TelemetryGuard};

/// The interpreter stage.
#[derive(Debug, Parser)]
#[command(name = "sluice-interpreter", version)]
struct Cli {
    /// A TOML configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = TelemetryConfig::from_env("sluice-interpreter", std::env::vars());
    let result = async {
        let _telemetry = TelemetryGuard::init(&telemetry)?;
        let options: Options =
            sluice_runtime::config::load(cli.config.as_deref(), std::env::vars(), &[])?;
        let shutdown = sluice_runtime::shutdown::on_signal()?;
        let readiness = Readiness::new();
        let health = HealthServer::bind(options.http_listen).await?;
        let health = tokio::spawn(health.serve(readiness.clone(), shutdown.clone()));
        let service = Service::new(options, std::env::vars()).await?;
        readiness.set("interpreter", true);
        service.run(shutdown).await?;
        health.await??;
        anyhow::Ok(())
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!(
                "sluice-interpreter: {}",
                format!("{err:#}").replace('\n', " ")
            );
            ExitCode::FAILURE
        }
    }
}
