//! The `sluice` operations command line.
//!
//! Noun-verb commands (`sluice admin provision`), human output by default and
//! `--json` for scripts. Configuration is layered like every Sluice binary:
//! defaults < `--config` file < `SLUICE_*` environment < flags.

pub mod admin;
pub mod config;
pub mod dev;

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use config::CliConfig;

/// `sluice` — operate a Sluice installation.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about)]
pub struct Cli {
    /// A TOML configuration file.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// NATS server URL [env: SLUICE_NATS_URL].
    #[arg(long, global = true)]
    pub nats_url: Option<String>,
    /// Prefix of every subject, stream and bucket [env: SLUICE_PREFIX].
    #[arg(long, global = true)]
    pub prefix: Option<String>,
    /// Print JSON instead of a human summary.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level nouns.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Installation-wide administration.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Run every service and the example booking service in one process.
    Dev(dev::DevArgs),
}

/// Runs the parsed command with the process environment `env`, writing its
/// result to `out`.
pub async fn run(
    cli: Cli,
    env: impl IntoIterator<Item = (String, String)>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut overrides = Vec::new();
    if let Some(url) = &cli.nats_url {
        overrides.push(("nats_url", url.clone()));
    }
    if let Some(prefix) = &cli.prefix {
        overrides.push(("prefix", prefix.clone()));
    }
    let env: Vec<(String, String)> = env.into_iter().collect();
    let config: CliConfig =
        sluice_runtime::config::load(cli.config.as_deref(), env.clone(), &overrides)?;
    match cli.command {
        Command::Admin(command) => admin::run(command, &config, cli.json, out).await,
        Command::Dev(args) => dev::run(args, &config, env).await,
    }
}
