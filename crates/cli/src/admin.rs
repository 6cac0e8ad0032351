//! `sluice admin …`: installation-wide administration.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use sluice_bus::{Bus, Topology};
use sluice_core::{Subjects, WorkflowSpec};

use crate::CliConfig;
use crate::error::CliError;

/// Administration commands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create or reconcile the streams, consumers and kill-switch bucket for
    /// the declared workflows. Idempotent: safe to run on every deploy.
    Provision(ProvisionArgs),
}

/// Arguments of `sluice admin provision`.
#[derive(Debug, Args)]
pub struct ProvisionArgs {
    /// The folder of declared workflows (`<dir>/<name>/workflow.toml`).
    #[arg(long, default_value = "workflows")]
    pub workflows: PathBuf,
    /// Replicas per stream and bucket (1 on one server, 3 in a cluster).
    #[arg(long, default_value_t = 1)]
    pub replicas: usize,
    /// Show what would be provisioned without connecting to NATS.
    #[arg(long)]
    pub dry_run: bool,
    /// How long after a dead letter leaves its stream it may still be
    /// replayed: when the ledger answers, its key retention must cover the
    /// dead-letter stream's max age plus this (as the dead-letter service
    /// checks at start-up).
    #[arg(long, default_value = "7d", value_parser = sluice_runtime::config::parse_duration)]
    pub replay_horizon: std::time::Duration,
}

/// Runs an admin command.
pub async fn run(
    command: AdminCommand,
    config: &CliConfig,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match command {
        AdminCommand::Provision(args) => provision(args, config, json, out).await,
    }
}

async fn provision(
    args: ProvisionArgs,
    config: &CliConfig,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let specs = WorkflowSpec::load_all(&args.workflows)?;
    anyhow::ensure!(
        !specs.is_empty(),
        "no workflows declared under {}",
        args.workflows.display()
    );
    let workflows: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    let mut sources: Vec<&str> = specs
        .iter()
        .flat_map(|s| s.sources.iter().map(String::as_str))
        .collect();
    sources.sort_unstable();
    sources.dedup();

    let mut topology = Topology::new(workflows, sources);
    topology.streams = topology.streams.with_replicas(args.replicas);
    topology.switches_replicas = args.replicas;
    topology.validate()?;
    let subjects = Subjects::new(config.prefix.clone())?;

    if args.dry_run {
        return report(
            out,
            json,
            "would provision",
            &subjects,
            &topology,
            None,
            None,
        );
    }
    let retention = check_retention(config, &topology, args.replay_horizon).await?;
    let client = config.connect().await?;
    let bus = Bus::new(client, subjects.clone());
    let done = bus
        .provision(&topology)
        .await
        .with_context(|| format!("provisioning on {}", config.nats_url))?;
    report(
        out,
        json,
        "provisioned",
        &subjects,
        &topology,
        Some(done.consumers),
        Some(&retention),
    )
}

/// Refuses a ledger key retention that does not cover the dead-letter
/// stream about to be provisioned plus the replay horizon, before anything
/// is changed. An unreachable ledger is no reason to stop provisioning (it
/// may be deployed after the streams): the check is then skipped and the
/// dead-letter service makes it at start-up.
async fn check_retention(
    config: &CliConfig,
    topology: &Topology,
    horizon: std::time::Duration,
) -> anyhow::Result<String> {
    use sluice_deadletter::retention::{check, human};

    let settings = match config.ledger() {
        Ok(ledger) => ledger.get_settings().await,
        Err(e) => return Ok(format!("skipped ({e})")),
    };
    let settings = match settings {
        Ok(settings) => settings,
        Err(e) => {
            let why = CliError::from_ledger(&config.ledger_url, e);
            return Ok(format!("skipped ({why})"));
        }
    };
    let max_age = topology.streams.dead_letter.max_age;
    check(settings.key_retention, max_age, horizon).map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(format!(
        "ok (key retention {} covers the dead-letter max age {} plus the replay horizon {})",
        human(settings.key_retention),
        human(max_age),
        human(horizon)
    ))
}

fn report(
    out: &mut impl Write,
    json: bool,
    verb: &str,
    subjects: &Subjects,
    topology: &Topology,
    consumers: Option<Vec<String>>,
    retention: Option<&str>,
) -> anyhow::Result<()> {
    use sluice_core::Stage;
    use sluice_core::subjects::StreamKind;

    let streams: Vec<String> = StreamKind::ALL
        .iter()
        .map(|k| subjects.stream(*k))
        .collect();
    let consumers = match consumers {
        Some(consumers) => consumers,
        None => {
            let stages = topology
                .workflows
                .iter()
                .flat_map(|w| Stage::PIPELINE.map(|s| subjects.consumer(s, w)));
            let ingest = topology
                .sources
                .iter()
                .map(|s| subjects.consumer(Stage::Ingest, s));
            stages.chain(ingest).collect::<Result<_, _>>()?
        }
    };
    if json {
        let value = serde_json::json!({
            "result": verb,
            "streams": streams,
            "switches_bucket": subjects.switches_bucket(),
            "consumers": consumers,
            "key_retention_check": retention,
        });
        writeln!(out, "{value}")?;
    } else {
        writeln!(out, "{verb}:")?;
        writeln!(out, "  streams    {}", streams.join(", "))?;
        writeln!(out, "  kv bucket  {}", subjects.switches_bucket())?;
        writeln!(out, "  consumers  {}", consumers.join(", "))?;
        if let Some(retention) = retention {
            writeln!(out, "  retention  {retention}")?;
        }
    }
    Ok(())
}
