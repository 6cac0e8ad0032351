//! `sluice executions …`: executions as the ledger records them.

use std::io::Write;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use sluice_core::{ExecutionId, State};
use sluice_ledger::{Execution, ExecutionFilter, JournalEntry, LedgerClient};

use crate::CliConfig;
use crate::error::CliError;
use crate::output::{self, table};

mod erase;
mod revert;

pub use erase::EraseArgs;
pub use revert::RevertArgs;

/// The ledger's largest page.
pub(crate) const PAGE: u32 = 500;

/// Execution commands.
#[derive(Debug, Subcommand)]
pub enum ExecutionsCommand {
    /// Lists executions, newest first.
    List(ListArgs),
    /// Shows one execution's fields and its journal.
    Show(ShowArgs),
    /// Removes an execution's personal payload from the ledger and its dead
    /// letters from the streams; states, journal moves, key names and audit
    /// rows stay. Exit codes: 0 erased (or already erased), 1 refused (a
    /// stage is still working on it, or the caller is not sre/admin), 2
    /// empty reason, 3 no such execution, 4 ledger or NATS unreachable.
    Erase(EraseArgs),
    /// Undoes a completed execution's effects with each action's declared
    /// compensation (run once, under `<key>:compensate`), journalling who
    /// and why, and waits for the outcome. A repeat changes nothing. Exit
    /// codes: 0 compensated (or handed over with `--wait 0s`), 1 refused
    /// (not COMPLETED, not a reviewer/sre/admin) or the compensation stopped
    /// for review or is still running, 2 empty reason, 3 no such execution,
    /// 4 ledger or NATS unreachable.
    Revert(RevertArgs),
}

/// Arguments of `sluice executions list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this workflow.
    #[arg(long)]
    pub workflow: Option<String>,
    /// Only executions now in this state (`COMPLETED`, `needs_review`…).
    #[arg(long, value_parser = parse_state)]
    pub state: Option<State>,
    /// Only received at or after: RFC 3339, or a duration ago (`1h`, `2d`).
    #[arg(long, value_parser = output::parse_time)]
    pub since: Option<DateTime<Utc>>,
    /// Only received before: RFC 3339, or a duration ago (`15m`).
    #[arg(long, value_parser = output::parse_time)]
    pub until: Option<DateTime<Utc>>,
    /// At most this many executions.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

/// Arguments of `sluice executions show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The execution id (a UUID).
    pub id: ExecutionId,
}

/// Runs an executions command.
pub async fn run(
    command: ExecutionsCommand,
    config: &CliConfig,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let ledger = config.ledger()?;
    match command {
        ExecutionsCommand::List(args) => list(&ledger, config, args, json, out).await,
        ExecutionsCommand::Show(args) => show(&ledger, config, args.id, json, out).await,
        ExecutionsCommand::Erase(args) => erase::run(&ledger, config, args, json, out).await,
        ExecutionsCommand::Revert(args) => revert::run(&ledger, config, args, json, out).await,
    }
}

fn parse_state(value: &str) -> Result<State, String> {
    value
        .to_ascii_uppercase()
        .parse()
        .map_err(|_| format!("unknown state {value:?}"))
}

async fn list(
    ledger: &LedgerClient,
    config: &CliConfig,
    args: ListArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut filter = ExecutionFilter {
        workflow: args.workflow,
        state: args.state,
        since: args.since,
        until: args.until,
        ..Default::default()
    };
    let mut found: Vec<Execution> = Vec::new();
    let more = loop {
        let wanted = args.limit.saturating_sub(len_u32(&found));
        filter.limit = wanted.min(PAGE);
        let page = ledger
            .list_executions(&filter)
            .await
            .map_err(|e| CliError::from_ledger(&config.ledger_url, e))?;
        found.extend(page.executions);
        if page.next_page_token.is_empty() {
            break false;
        }
        if len_u32(&found) >= args.limit {
            break true;
        }
        filter.page_token = page.next_page_token;
    };
    if json {
        let executions: Vec<Value> = found.iter().map(execution_json).collect();
        writeln!(out, "{}", json!({ "executions": executions, "more": more }))?;
        return Ok(());
    }
    let now = Utc::now();
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|e| {
            vec![
                e.execution_id.to_string(),
                e.workflow.clone(),
                e.state.clone(),
                e.correlation_id.clone(),
                output::instant(e.received_at),
                format!("{} ago", output::duration(now - e.updated_at)),
            ]
        })
        .collect();
    let header = [
        "ID",
        "WORKFLOW",
        "STATE",
        "CORRELATION",
        "RECEIVED",
        "UPDATED",
    ];
    table(out, &header, &rows)?;
    if more {
        writeln!(out, "… more; raise --limit or narrow with --since/--until")?;
    } else if found.is_empty() {
        writeln!(out, "no executions match")?;
    }
    Ok(())
}

fn len_u32<T>(v: &[T]) -> u32 {
    u32::try_from(v.len()).unwrap_or(u32::MAX)
}

async fn show(
    ledger: &LedgerClient,
    config: &CliConfig,
    id: ExecutionId,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let (execution, journal) = get(ledger, config, id).await?;
    let audit = ledger
        .execution_audit(id)
        .await
        .map_err(|e| CliError::from_ledger(&config.ledger_url, e))?;
    if json {
        let journal: Vec<Value> = journal.iter().map(journal_json).collect();
        let audit: Vec<Value> = audit.iter().map(output::audit_json).collect();
        let value = json!({
            "execution": execution_json(&execution), "journal": journal, "audit": audit,
        });
        writeln!(out, "{value}")?;
        return Ok(());
    }
    let fields = execution_fields(&execution);
    let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (name, value) in fields.iter().filter(|(_, v)| !v.is_null()) {
        let value = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned);
        writeln!(out, "{name:width$}  {value}")?;
    }
    writeln!(out)?;
    let rows: Vec<Vec<String>> = journal
        .iter()
        .map(|j| {
            vec![
                j.seq.to_string(),
                output::instant(j.at),
                j.stage.clone(),
                j.from_state.clone().unwrap_or_else(|| "—".to_owned()),
                j.to_state.clone(),
                j.actor.clone(),
                j.detail.as_ref().map(Value::to_string).unwrap_or_default(),
            ]
        })
        .collect();
    let header = ["SEQ", "AT", "STAGE", "FROM", "TO", "ACTOR", "DETAIL"];
    table(out, &header, &rows)?;
    if !audit.is_empty() {
        writeln!(out)?;
        output::audit_table(out, &audit)?;
    }
    Ok(())
}

/// Reads one execution; a missing one is [`CliError::NotFound`].
pub(crate) async fn get(
    ledger: &LedgerClient,
    config: &CliConfig,
    id: ExecutionId,
) -> Result<(Execution, Vec<JournalEntry>), CliError> {
    ledger
        .get_execution(id)
        .await
        .map_err(|e| match CliError::from_ledger(&config.ledger_url, e) {
            CliError::NotFound(_) => CliError::NotFound(format!("no execution {id}")),
            other => other,
        })
}

/// The execution's fields in reading order, for `show` and `--json`.
pub fn execution_fields(e: &Execution) -> Vec<(&'static str, Value)> {
    vec![
        ("execution_id", json!(e.execution_id)),
        ("workflow", json!(e.workflow)),
        ("state", json!(e.state)),
        ("source", json!(e.source)),
        ("event_id", json!(e.event_id)),
        ("correlation_id", json!(e.correlation_id)),
        ("received_at", json!(e.received_at)),
        ("updated_at", json!(e.updated_at)),
        ("retry_count", json!(e.retry_count)),
        ("exception_reason", json!(e.exception_reason)),
        ("final_outcome", json!(e.final_outcome)),
        ("confidence", json!(e.confidence)),
        ("gate_decision", json!(e.gate_decision)),
        ("actions_attempted", json!(e.actions_attempted)),
        ("external_write_ids", json!(e.external_write_ids)),
        ("payload_ref", json!(e.payload_ref)),
        ("model_output_ref", json!(e.model_output_ref)),
        ("erased_at", json!(e.erased_at)),
    ]
}

/// The execution as one JSON object.
pub fn execution_json(e: &Execution) -> Value {
    let fields = execution_fields(e)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v));
    Value::Object(fields.collect())
}

/// One journal entry for `--json`.
pub fn journal_json(j: &JournalEntry) -> Value {
    json!({
        "seq": j.seq,
        "at": j.at,
        "stage": j.stage,
        "generation": j.generation,
        "from": j.from_state,
        "to": j.to_state,
        "actor": j.actor,
        "detail": j.detail,
    })
}
