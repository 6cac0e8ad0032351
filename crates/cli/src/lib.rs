//! The `sluice` operations command line.
//!
//! Noun-verb commands (`sluice admin provision`), human output by default and
//! `--json` for scripts. Configuration is layered like every Sluice binary:
//! defaults < `--config` file < `SLUICE_*` environment < flags.

pub mod admin;
pub mod config;
pub mod dev;
pub mod dlq;
pub mod error;
pub mod eval;
pub mod executions;
pub mod output;
pub mod owners;
pub mod review;
pub mod switch;
pub mod trigger;
pub use sluice_ops::timeline;
pub mod trace;

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use config::CliConfig;
pub use error::{CliError, exit_code};

const LONG_ABOUT: &str = "\
Operate a Sluice installation.

Human-readable output by default; --json for scripts. Configuration:
defaults < --config file < SLUICE_* environment < flags.

Exit codes:
  0  ok
  1  the operation failed (sluice eval: a regression)
  2  usage or configuration error
  3  not found (no such execution, correlation id or workflow)
  4  cannot reach NATS, the ledger or (sluice eval) the model";

/// `sluice` — operate a Sluice installation.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about, long_about = LONG_ABOUT)]
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
    /// The ledger's gRPC endpoint [env: SLUICE_LEDGER_URL; default
    /// http://127.0.0.1:50051].
    #[arg(long, global = true)]
    pub ledger_url: Option<String>,
    /// Operator bearer token for the ledger [env: SLUICE_LEDGER_TOKEN]. Prefer
    /// the environment: a flag shows in the process list.
    #[arg(long, global = true)]
    pub token: Option<Secret>,
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
    /// Dead letters: list, show, replay, discard.
    #[command(subcommand)]
    Dlq(dlq::DlqCommand),
    /// Kill switches: list, show, off, on.
    #[command(subcommand)]
    Switch(switch::SwitchCommand),
    /// Executions as the ledger records them.
    #[command(subcommand)]
    Executions(executions::ExecutionsCommand),
    /// Start one execution of a workflow by hand (through ingest's trigger
    /// endpoint, with your ledger token).
    Trigger(trigger::TriggerArgs),
    /// Executions waiting for a person: list, show, approve, reject, escalate.
    #[command(subcommand)]
    Review(review::ReviewCommand),
    /// Run a workflow's frozen eval cases through a backend, score them field
    /// by field and compare with the last saved baseline (exit 1 on a
    /// regression); accepted feedback cases are scored apart. `sluice eval
    /// import-feedback` turns reviewers' decisions into candidate cases.
    Eval(eval::EvalArgs),
    /// The timeline of an execution, or of every execution a correlation id
    /// started: each stage in order with timings, model and prompt, gate
    /// decision, effects and errors.
    Trace(trace::TraceArgs),
}

/// A credential from a flag: parsed like a string, never printed.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
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
    if let Some(url) = &cli.ledger_url {
        overrides.push(("ledger_url", url.clone()));
    }
    if let Some(Secret(token)) = &cli.token {
        overrides.push(("ledger_token", token.clone()));
    }
    let env: Vec<(String, String)> = env.into_iter().collect();
    let config: CliConfig =
        sluice_runtime::config::load(cli.config.as_deref(), env.clone(), &overrides)?;
    match cli.command {
        Command::Admin(command) => admin::run(command, &config, cli.json, out).await,
        Command::Dev(args) => dev::run(args, &config, env).await,
        Command::Dlq(command) => dlq::run(command, &config, cli.json, out).await,
        Command::Eval(args) => eval::run(args, &config, &env, cli.json, out).await,
        Command::Executions(command) => executions::run(command, &config, cli.json, out).await,
        Command::Review(command) => review::run(command, &config, cli.json, out).await,
        Command::Switch(command) => switch::run(command, &config, cli.json, out).await,
        Command::Trace(args) => trace::run(args, &config, cli.json, out).await,
        Command::Trigger(args) => trigger::run(args, &config, cli.json, out).await,
    }
}
