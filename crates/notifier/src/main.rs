//! `sluice-notifier`: loads config, starts telemetry and health, runs the notifier.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser as _;
use sluice_runtime::{HealthServer, Readiness, TelemetryConfig, TelemetryGuard};

/// The Sluice notifier.
#[derive(Debug, clap::Parser)]
#[command(name = "sluice-notifier", version)]
struct Cli {
    /// A TOML config file (overridden by `SLUICE_*` variables).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = TelemetryConfig::from_env("sluice-notifier", std::env::vars());
    let result = async {
        let _telemetry = TelemetryGuard::init(&telemetry)?;
        let options: sluice_notifier::Options =
            sluice_runtime::config::load(cli.config.as_deref(), std::env::vars(), &[])?;
        let shutdown = sluice_runtime::shutdown::on_signal()?;
        let readiness = Readiness::new();
        readiness.set("notifier", false);
        if let Some(addr) = options.http_listen {
            let health = HealthServer::bind(addr).await?;
            tokio::spawn(health.serve(readiness.clone(), shutdown.clone()));
        }
        let service = sluice_notifier::Service::new(options).await?;
        readiness.set("notifier", true);
        service.run(shutdown).await.map_err(anyhow::Error::from)
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sluice-notifier: {}", format!("{err:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
