//! `sluice admin …`: installation-wide administration.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use sluice_bus::{Bus, Topology};
use sluice_core::{Subjects, WorkflowSpec};

use crate::CliConfig;

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
        return report(out, json, "would provision", &subjects, &topology, None);
    }
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
    )
}

fn report(
    out: &mut impl Write,
    json: bool,
    verb: &str,
    subjects: &Subjects,
    topology: &Topology,
    consumers: Option<Vec<String>>,
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
        });
        writeln!(out, "{value}")?;
    } else {
        writeln!(out, "{verb}:")?;
        writeln!(out, "  streams    {}", streams.join(", "))?;
        writeln!(out, "  kv bucket  {}", subjects.switches_bucket())?;
        writeln!(out, "  consumers  {}", consumers.join(", "))?;
    }
    Ok(())
}
