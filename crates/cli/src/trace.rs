//! `sluice trace <execution-or-correlation-id>`: what happened to one
//! request, stage by stage, with timings.
//!
//! An execution id is one `GetExecution`. A correlation id has no index in
//! the ledger's API, so it is found by listing executions newest first (pages
//! of 500) and comparing correlation ids here: the cost grows with the number
//! of executions scanned, bounded by `--max-scan`, and `--since`/`--workflow`
//! narrow the scan.

use std::io::Write;

use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::json;
use sluice_core::ExecutionId;
use sluice_ledger::{ExecutionFilter, LedgerClient};

use crate::CliConfig;
use crate::error::CliError;
use crate::executions::get;
use crate::output::{self, table};
use crate::timeline::Timeline;

/// Arguments of `sluice trace`.
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// An execution id, or a correlation id (every execution it started).
    pub id: String,
    /// When searching by correlation id: only this workflow.
    #[arg(long)]
    pub workflow: Option<String>,
    /// When searching by correlation id: only executions received at or
    /// after (RFC 3339, or a duration ago like `1h`).
    #[arg(long, value_parser = output::parse_time)]
    pub since: Option<DateTime<Utc>>,
    /// When searching by correlation id: give up after scanning this many
    /// executions (newest first).
    #[arg(long, default_value_t = 20_000)]
    pub max_scan: usize,
}

/// Runs `sluice trace`.
pub async fn run(
    args: TraceArgs,
    config: &CliConfig,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let ledger = config.ledger()?;
    let (matched_by, timelines) = resolve(&ledger, config, &args).await?;
    if json {
        let value = json!({ "query": args.id, "matched_by": matched_by, "timelines": timelines });
        writeln!(out, "{value}")?;
        return Ok(());
    }
    for (i, timeline) in timelines.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        render(timeline, out)?;
    }
    Ok(())
}

/// Finds the executions `args.id` names: itself if it is an execution id,
/// else every execution with that correlation id.
async fn resolve(
    ledger: &LedgerClient,
    config: &CliConfig,
    args: &TraceArgs,
) -> Result<(&'static str, Vec<Timeline>), CliError> {
    if let Ok(id) = args.id.parse::<ExecutionId>() {
        match get(ledger, config, id).await {
            Ok((execution, journal)) => {
                return Ok(("execution_id", vec![Timeline::new(&execution, &journal)]));
            }
            // Generated correlation ids are UUIDs too: look for one.
            Err(CliError::NotFound(_)) => {}
            Err(other) => return Err(other),
        }
    }
    let (ids, scanned) = by_correlation(ledger, config, args).await?;
    if ids.is_empty() {
        let window = args
            .since
            .map(|s| format!(" since {}", output::instant(s)))
            .unwrap_or_default();
        return Err(CliError::NotFound(format!(
            "no execution or correlation id {:?} (searched {scanned} executions{window})",
            args.id
        )));
    }
    let mut timelines = Vec::with_capacity(ids.len());
    for id in ids {
        let (execution, journal) = get(ledger, config, id).await?;
        timelines.push(Timeline::new(&execution, &journal));
    }
    Ok(("correlation_id", timelines))
}

/// The ids of executions with correlation id `args.id`, oldest first, and
/// how many executions were scanned.
async fn by_correlation(
    ledger: &LedgerClient,
    config: &CliConfig,
    args: &TraceArgs,
) -> Result<(Vec<ExecutionId>, usize), CliError> {
    let filter = ExecutionFilter {
        workflow: args.workflow.clone(),
        since: args.since,
        ..Default::default()
    };
    let (found, scanned) =
        sluice_ops::search::by_correlation(ledger, &filter, &args.id, args.max_scan)
            .await
            .map_err(|e| CliError::from_ledger(&config.ledger_url, e))?;
    let ids = found
        .iter()
        .map(|e| ExecutionId::from_uuid(e.execution_id))
        .collect();
    Ok((ids, scanned))
}

fn render(t: &Timeline, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "execution    {}", t.execution_id)?;
    writeln!(
        out,
        "workflow     {} (source {}, event {})",
        t.workflow, t.source, t.event_id
    )?;
    writeln!(out, "correlation  {}", t.correlation_id)?;
    let total = output::duration(chrono::TimeDelta::milliseconds(t.total_ms));
    writeln!(
        out,
        "state        {} after {total} (started {})",
        t.state,
        output::instant(t.started_at)
    )?;
    if let Some(outcome) = &t.final_outcome {
        writeln!(out, "outcome      {outcome}")?;
    }
    if let Some(reason) = &t.exception_reason {
        writeln!(out, "exception    {reason}")?;
    }
    writeln!(out)?;
    let ms = chrono::TimeDelta::milliseconds;
    let rows: Vec<Vec<String>> = t
        .steps
        .iter()
        .map(|s| {
            let facts: Vec<String> = s.facts.iter().map(|f| fact(&f.name, &f.value)).collect();
            vec![
                s.seq.to_string(),
                format!("+{}", output::duration(ms(s.since_start_ms))),
                output::duration(ms(s.duration_ms)),
                s.stage.clone(),
                s.to.clone(),
                facts.join("  "),
            ]
        })
        .collect();
    table(out, &["#", "AT", "TOOK", "STAGE", "STATE", "FACTS"], &rows)
}

/// `name=value`, quoted when the value has spaces.
fn fact(name: &str, value: &str) -> String {
    if value.contains(char::is_whitespace) {
        format!("{name}={value:?}")
    } else {
        format!("{name}={value}")
    }
}
