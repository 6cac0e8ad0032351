//! The `sluice-ledger` command line: flags with `SLUICE_…` environment
//! fallbacks (clap reads them when the binary parses its arguments), turned
//! into typed [`Options`].

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use sluice_runtime::config::parse_duration;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::options::DEFAULT_CONNECT_TIMEOUT;
use crate::{Options, Store, TlsOptions, TokenTable};

/// The Sluice idempotency ledger (gRPC over Postgres).
#[derive(Debug, Parser)]
#[command(name = "sluice-ledger", version)]
pub struct Cli {
    /// Postgres URL.
    #[arg(
        long,
        env = "SLUICE_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Serve flags, when no subcommand is given.
    #[command(flatten)]
    pub serve: Serve,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve gRPC (the default).
    Serve(Serve),
    /// Apply the migrations and exit.
    Migrate,
}

/// Flags of `serve`.
#[derive(Debug, Args)]
pub struct Serve {
    /// gRPC listen address.
    #[arg(long, env = "SLUICE_LEDGER_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// Bearer tokens: `token=role[:name],…` (roles: service, reviewer, sre, admin).
    #[arg(
        long,
        env = "SLUICE_LEDGER_TOKENS",
        hide_env_values = true,
        default_value = ""
    )]
    pub tokens: TokenTable,
    /// Apply the migrations before serving.
    #[arg(long, env = "SLUICE_LEDGER_MIGRATE")]
    pub migrate: bool,
    /// Connection pool size.
    #[arg(long, env = "SLUICE_LEDGER_MAX_CONNECTIONS", default_value_t = 16)]
    pub max_connections: u32,
    /// TLS certificate chain (PEM).
    #[arg(long, env = "SLUICE_LEDGER_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "SLUICE_LEDGER_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Where `/livez`, `/readyz` and `/metrics` are served.
    #[arg(
        long,
        env = "SLUICE_LEDGER_HTTP_LISTEN",
        default_value = "127.0.0.1:9464"
    )]
    pub http_listen: SocketAddr,
    /// CA of client certificates; enables mTLS.
    #[arg(long, env = "SLUICE_LEDGER_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// How long completed and permanently failed idempotency keys are kept
    /// after their last change (`45d`, `1000h`…); must cover the dead-letter
    /// stream's max age plus the replay horizon.
    #[arg(
        long,
        env = "SLUICE_LEDGER_KEY_RETENTION",
        default_value = "45d",
        value_parser = parse_duration
    )]
    pub key_retention: std::time::Duration,
}

impl Cli {
    /// Runs the chosen command until it ends or `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        let url = self.database_url.ok_or_else(|| {
            Error::Config("no database: set SLUICE_DATABASE_URL or --database-url".to_owned())
        })?;
        match self.command.unwrap_or(Command::Serve(self.serve)) {
            Command::Migrate => {
                let store = Store::connect(&url, 1, DEFAULT_CONNECT_TIMEOUT).await?;
                store.migrate().await
            }
            Command::Serve(serve) => crate::run(serve.into_options(url), shutdown).await,
        }
    }
}

impl Serve {
    fn into_options(self, database_url: String) -> Options {
        let tls = self
            .tls_cert
            .zip(self.tls_key)
            .map(|(cert, key)| TlsOptions {
                cert,
                key,
                client_ca: self.tls_client_ca,
            });
        Options {
            listen: self.listen,
            tokens: self.tokens,
            tls,
            max_connections: self.max_connections,
            migrate_on_start: self.migrate,
            http_listen: Some(self.http_listen),
            key_retention: self.key_retention,
            ..Options::new(database_url)
        }
    }
}
