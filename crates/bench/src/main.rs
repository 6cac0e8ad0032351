//! `sluice-bench`: how close the pipeline gets to the broker's own limit.
//!
//! Runs, interleaved in one process and one go, the full pipeline (every
//! service in-process, the rules backend, the example booking service as
//! the target, the ledger on Postgres) and a raw five-hop JetStream relay
//! with the same message size, acks, `Nats-Msg-Id`s and limits; prints
//! throughput, latency, CPU and memory side by side with the ratios, and
//! the ledger's round trips per execution. `scripts/bench.sh` runs it.

mod cleanup;
mod db;
mod ledger_bench;
mod load;
mod pipeline;
mod plan;
mod relay;
mod report;
mod rpcs;
mod run;
mod stats;

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// Benchmark the pipeline against a raw JetStream relay in the same run.
#[derive(Debug, Parser)]
#[command(name = "sluice-bench")]
pub struct Args {
    /// The smoke-test size (well under a minute): one round, short loads.
    #[arg(long)]
    quick: bool,
    /// Only the ledger: Begin+Complete pairs per second.
    #[arg(long)]
    ledger_only: bool,
    /// Rounds of every measurement.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Closed-loop concurrencies.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<usize>,
    /// Seconds each closed-loop measurement runs.
    #[arg(long, default_value_t = 6)]
    closed_secs: u64,
    /// Open-loop rates (executions per second).
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    rate: Vec<u32>,
    /// Seconds each open-loop measurement runs.
    #[arg(long, default_value_t = 8)]
    open_secs: u64,
    /// Concurrency of the ledger-only runs.
    #[arg(long, value_delimiter = ',', default_value = "64")]
    ledger_concurrency: Vec<usize>,
    /// The ledger's connection pool in the ledger-only runs.
    #[arg(long, default_value_t = 16)]
    ledger_pool: u32,
    /// Seconds each ledger-only run lasts.
    #[arg(long, default_value_t = 8)]
    ledger_secs: u64,
    /// Write the tables into this file between its bench markers.
    #[arg(long)]
    write_doc: Option<PathBuf>,
    /// A reliability-harness report (`report.json` of `scripts/chaos.sh
    /// --profile load`): each service's peak RSS in a process of its own,
    /// under load, goes in the tables and the RSS target.
    #[arg(long)]
    service_rss: Option<PathBuf>,
    /// How the run was started, for the report (`scripts/bench.sh` passes
    /// its own command line); the process's arguments when absent.
    #[arg(long, hide = true)]
    command: Option<String>,
    /// The repository (its `workflows/` and `sources/`).
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    /// NATS server.
    #[arg(long, env = "SLUICE_NATS_URL", default_value = "nats://127.0.0.1:4223")]
    nats_url: String,
    /// Postgres server; the run creates and drops its own databases there.
    #[arg(
        long,
        env = "SLUICE_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    database_url: String,
}

impl Args {
    /// The measurement plan these arguments ask for.
    fn plan(&self) -> plan::Plan {
        if self.quick {
            return plan::Plan {
                rounds: 1,
                concurrencies: vec![16],
                closed_for: Duration::from_secs(2),
                rates: vec![100],
                open_for: Duration::from_secs(1),
            };
        }
        plan::Plan {
            rounds: self.rounds.max(1),
            concurrencies: self.concurrency.clone(),
            closed_for: Duration::from_secs(self.closed_secs),
            rates: self.rate.clone(),
            open_for: Duration::from_secs(self.open_secs),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // A binary reads its environment: logging follows RUST_LOG, quiet by default.
    let mut env: Vec<(String, String)> = std::env::vars().collect();
    if !env.iter().any(|(k, _)| k == "RUST_LOG") {
        env.push(("RUST_LOG".into(), "error".into()));
    }
    let _telemetry = sluice_runtime::TelemetryGuard::init(
        &sluice_runtime::TelemetryConfig::from_env("sluice-bench", env),
    )?;
    let command = args
        .command
        .clone()
        .unwrap_or_else(|| std::env::args().collect::<Vec<_>>().join(" "));
    let mut results = run::run(&args, command).await?;
    if let Some(report) = &args.service_rss {
        results.services = report::service_rss(report)?;
    }
    let markdown = results.markdown();
    let mut out = std::io::stdout().lock();
    writeln!(out, "{markdown}")?;
    if let Some((c, ratio)) = results.throughput_ratio() {
        writeln!(
            out,
            "ratio: pipeline / raw relay (batched) throughput at concurrency {c}: {ratio:.2}"
        )?;
    }
    for (c, on, off) in results.ledger_pairs() {
        writeln!(
            out,
            "ratio: ledger group commit / one statement per call at concurrency {c}: {:.2}",
            on.pairs_per_s / off.pairs_per_s.max(1e-9)
        )?;
    }
    if let Some(path) = &args.write_doc {
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        std::fs::write(path, report::splice(&doc, &markdown))?;
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(())
}
