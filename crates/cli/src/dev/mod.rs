//! `sluice dev`: every service and the example booking service and CRM in
//! one process, for a laptop or the demo.

mod crm;
mod services;
pub mod stack;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use sluice_ledger::{Role, TokenTable};
use sqlx::{ConnectOptions as _, Connection as _};

pub use stack::{Stack, StackOptions};

use crate::CliConfig;

/// Arguments of `sluice dev`.
#[derive(Debug, Args)]
pub struct DevArgs {
    /// Postgres server; the ledger's, the booking service's and the example
    /// CRM's databases are created on it if absent [env: SLUICE_DATABASE_URL].
    #[arg(
        long,
        env = "SLUICE_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub database_url: String,
    /// Name prefix of the three databases (`<prefix>_ledger`,
    /// `<prefix>_booking`, `<prefix>_crm`).
    #[arg(long, default_value = "sluice_dev")]
    pub database_prefix: String,
    /// Declared workflows.
    #[arg(long, default_value = "workflows")]
    pub workflows: PathBuf,
    /// Declared sources.
    #[arg(long, default_value = "sources")]
    pub sources: PathBuf,
    /// Where ingest's HTTP API listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub ingest_listen: SocketAddr,
    /// Where the example booking service listens.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub booking_listen: SocketAddr,
    /// Where the ledger's gRPC endpoint listens.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub ledger_listen: SocketAddr,
    /// Make the booking service honour `Idempotency-Key`.
    #[arg(long)]
    pub honour_idempotency_keys: bool,
    /// Where to serve Prometheus `/metrics` (and `/livez`, `/readyz`) for
    /// every service of the process; off when not given.
    #[arg(long)]
    pub metrics_listen: Option<SocketAddr>,
    /// Where the review console listens; off when not given. Needs
    /// `--ledger-tokens`: operators sign in with a reviewer, sre or admin
    /// token.
    #[arg(long, requires = "ledger_tokens")]
    pub console_listen: Option<SocketAddr>,
    /// The ledger's tokens, `token=role[:name],…`; the stack's services use
    /// the first `service` token. Without them the ledger runs in insecure
    /// dev mode [env: SLUICE_LEDGER_TOKENS].
    #[arg(long, env = "SLUICE_LEDGER_TOKENS", hide_env_values = true)]
    pub ledger_tokens: Option<String>,
}

/// Runs the stack until SIGTERM or SIGINT.
pub async fn run(
    args: DevArgs,
    config: &CliConfig,
    env: Vec<(String, String)>,
) -> anyhow::Result<()> {
    let ledger_database_url = ensure_database(
        &args.database_url,
        &format!("{}_ledger", args.database_prefix),
    )
    .await?;
    let booking_database_url = ensure_database(
        &args.database_url,
        &format!("{}_booking", args.database_prefix),
    )
    .await?;
    let crm_database_url =
        ensure_database(&args.database_url, &format!("{}_crm", args.database_prefix)).await?;
    let ledger_tokens: TokenTable = args
        .ledger_tokens
        .as_deref()
        .unwrap_or_default()
        .parse()
        .context("--ledger-tokens")?;
    if args.console_listen.is_some() && ledger_tokens.first_token(Role::Service).is_none() {
        anyhow::bail!("--ledger-tokens needs a `service` token for the stack's own services");
    }
    let options = StackOptions {
        nats: config.nats_options(),
        service_nats: Default::default(),
        ledger_database_url,
        booking_database_url,
        crm_database_url,
        workflows_dir: args.workflows,
        sources_dir: args.sources,
        ingest_listen: args.ingest_listen,
        booking_listen: args.booking_listen,
        ledger_listen: args.ledger_listen,
        honour_idempotency_keys: args.honour_idempotency_keys,
        env,
        models: Default::default(),
        topology: None,
        executor_failpoint: None,
        metrics_listen: args.metrics_listen,
        ledger_tokens,
        console_listen: args.console_listen,
    };
    let _telemetry = sluice_runtime::TelemetryGuard::init(
        &sluice_runtime::TelemetryConfig::from_env("sluice-dev", options.env.clone()),
    )?;
    let shutdown = sluice_runtime::shutdown::on_signal()?;
    let stack = Stack::start(options).await?;
    let metrics = stack.metrics.map(|m| m.to_string());
    let console = stack.console.map(|c| format!("http://{c}"));
    tracing::info!(ingest = %stack.ingest, booking = %stack.booking, ledger = %stack.ledger,
        metrics = metrics.as_deref().unwrap_or("off"),
        console = console.as_deref().unwrap_or("off"), "sluice dev is up");
    stack.run_until(shutdown).await
}

/// Creates database `name` on the server of `server_url` unless it exists,
/// and returns a URL that connects to it.
async fn ensure_database(server_url: &str, name: &str) -> anyhow::Result<String> {
    sluice_core::error::validate_name("database", name)
        .map_err(|_| anyhow::anyhow!("database name {name:?}: use [a-z0-9_]"))?;
    let server: sqlx::postgres::PgConnectOptions = server_url
        .parse()
        .with_context(|| "invalid --database-url".to_owned())?;
    let mut conn = server
        .connect()
        .await
        .with_context(|| format!("cannot connect to Postgres at {}", redact(server_url)))?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        // The name was validated above: it cannot break out of the quotes.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await?;
    }
    conn.close().await.ok();
    Ok(server.database(name).to_url_lossy().to_string())
}

/// The URL without its password, for error messages.
fn redact(url: &str) -> String {
    match url.parse::<sqlx::postgres::PgConnectOptions>() {
        Ok(options) => options.password("").to_url_lossy().to_string(),
        Err(_) => "<invalid url>".to_owned(),
    }
}
