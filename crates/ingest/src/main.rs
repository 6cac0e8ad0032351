//! `sluice-ingest`: loads configuration, starts telemetry and health, runs
//! the service.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser as _;
use sluice_ingest::{Options, Service};
use sluice_runtime::{HealthServer, Readiness, TelemetryConfig, TelemetryGuard};

/// The Sluice ingest service (signed webhooks and NATS input).
#[derive(Debug, clap::Parser)]
#[command(name = "sluice-ingest", version)]
struct Cli {
    /// A TOML configuration file (overridden by SLUICE_* variables).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = TelemetryConfig::from_env("sluice-ingest", std::env::vars());
    let result = async {
        let _telemetry = TelemetryGuard::init(&telemetry)?;
        let options: Options =
            sluice_runtime::config::load(cli.config.as_deref(), std::env::vars(), &[])?;
        let shutdown = sluice_runtime::shutdown::on_signal()?;
        let readiness = Readiness::new();
        let health = HealthServer::bind(options.health_listen).await?;
        tokio::spawn(health.serve(readiness.clone(), shutdown.clone()));
        let bound = Service::new(options, std::env::vars())
            .await?
            .bind()
            .await?;
        readiness.set("ingest", true);
        bound.run(shutdown).await?;
        anyhow::Ok(())
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sluice-ingest: {}", format!("{err:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
