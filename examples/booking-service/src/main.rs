//! `booking-service`: the example target system of the Sluice demo.

use std::path::PathBuf;
use std::process::ExitCode;

use booking_service::Options;
use clap::Parser;
use sluice_runtime::{TelemetryConfig, TelemetryGuard};

/// An example restaurant booking API (a target system for Sluice).
#[derive(Debug, Parser)]
#[command(name = "booking-service", version)]
struct Cli {
    /// A TOML file with the options (faults, listen address…).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Its own Postgres database.
    #[arg(long, env = "BOOKING_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Listen address.
    #[arg(long, env = "BOOKING_LISTEN")]
    listen: Option<String>,
    /// Honour `Idempotency-Key` (`true`/`false`).
    #[arg(long, env = "BOOKING_HONOUR_IDEMPOTENCY_KEYS")]
    honour_idempotency_keys: Option<bool>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = TelemetryConfig::from_env("booking-service", std::env::vars());
    let result = async {
        let _telemetry = TelemetryGuard::init(&telemetry)?;
        let mut overrides = Vec::new();
        overrides.extend(cli.database_url.map(|v| ("database_url", v)));
        overrides.extend(cli.listen.map(|v| ("listen", v)));
        let honour = cli.honour_idempotency_keys.map(|v| v.to_string());
        overrides.extend(honour.map(|v| ("honour_idempotency_keys", v)));
        // Only files and flags: the example's settings must not collide with
        // Sluice's own `SLUICE_*` variables (its database is not Sluice's).
        let options: Options =
            sluice_runtime::config::load(cli.config.as_deref(), std::iter::empty(), &overrides)?;
        let shutdown = sluice_runtime::shutdown::on_signal()?;
        booking_service::run(options, shutdown).await?;
        anyhow::Ok(())
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("booking-service: {}", format!("{err:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
