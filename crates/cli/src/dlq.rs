//! `sluice dlq …`: the dead-letter index — list, show, replay, discard.
//!
//! Entries are indexed by the dead-letter service; these commands read and
//! change them through the ledger, which records every change in the audit
//! trail under the caller's identity.

use std::io::Write;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde_json::json;
use sluice_core::FailureClass;
use sluice_ledger::{DeadLetterFilter, DeadLetterStatus, LedgerClient};

use crate::CliConfig;
use crate::error::CliError;
use crate::output;
use crate::owners::WorkflowsDir;

mod replay;
mod view;

use view::{entry_json, list, show};

/// Dead-letter commands.
#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Lists dead letters, newest first.
    List(ListArgs),
    /// Shows one entry, its payload and its audit trail.
    Show(IdArg),
    /// Republishes entries to their original subject under a new
    /// generation; resumable by batch.
    Replay(ReplayArgs),
    /// Gives up on an entry: it is never replayed.
    Discard(DiscardArgs),
}

/// Which entries: every filter is optional.
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// Only this stage.
    #[arg(long)]
    pub stage: Option<String>,
    /// Only this workflow.
    #[arg(long)]
    pub workflow: Option<String>,
    /// Only this failure class: temporary, permanent, unknown.
    #[arg(long, value_parser = parse_class)]
    pub class: Option<FailureClass>,
    /// Only this status: open, replayed, discarded.
    #[arg(long, value_parser = parse_status)]
    pub status: Option<DeadLetterStatus>,
    /// Only this correlation id.
    #[arg(long)]
    pub correlation: Option<String>,
    /// Only entries recorded since (`15m`, `2d`, or an RFC 3339 instant).
    #[arg(long, value_parser = output::parse_time)]
    pub since: Option<DateTime<Utc>>,
    /// Only entries recorded before (`15m`, `2d`, or an RFC 3339 instant).
    #[arg(long, value_parser = output::parse_time)]
    pub until: Option<DateTime<Utc>>,
    /// At most this many entries.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

impl FilterArgs {
    fn any(&self) -> bool {
        self.stage.is_some()
            || self.workflow.is_some()
            || self.class.is_some()
            || self.status.is_some()
            || self.correlation.is_some()
            || self.since.is_some()
            || self.until.is_some()
    }
}

/// Arguments of `sluice dlq list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Which entries.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Only reasons containing this text (case-insensitive).
    #[arg(long)]
    pub reason: Option<String>,
    /// Where the owners come from.
    #[command(flatten)]
    pub workflows: WorkflowsDir,
}

/// Arguments of `sluice dlq replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The entries to replay; or select them with the filter flags.
    pub ids: Vec<i64>,
    /// Which entries, when no ids are given.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Why (required; kept in the audit trail).
    #[arg(long)]
    pub reason: String,
    /// List what would be sent (id, subject, Msg-Id) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// At most this many publishes per second.
    #[arg(long)]
    pub rps: Option<f64>,
    /// The batch to run or resume; a new one (printed) when absent.
    #[arg(long)]
    pub batch: Option<String>,
    /// Refuse entries already replayed this many times.
    #[arg(long, default_value_t = sluice_ledger::DEFAULT_MAX_REPLAYS)]
    pub max_replays: u32,
}

/// An entry id.
#[derive(Debug, Args)]
pub struct IdArg {
    /// The dead letter's id.
    pub id: i64,
}

/// Arguments of `sluice dlq discard`.
#[derive(Debug, Args)]
pub struct DiscardArgs {
    /// The dead letter's id.
    pub id: i64,
    /// Why (required; kept in the audit trail).
    #[arg(long)]
    pub reason: String,
    /// Show what would be discarded and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs a dead-letter command.
pub async fn run(
    command: DlqCommand,
    config: &CliConfig,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let ledger = config.ledger()?;
    let fail = |e| CliError::from_ledger(&config.ledger_url, e);
    match command {
        DlqCommand::List(args) => {
            let filter = filter(args.filter, args.reason);
            let page = ledger.list_dead_letters(&filter).await.map_err(fail)?;
            list(
                &page.dead_letters,
                &args.workflows.owners(),
                !page.next_page_token.is_empty(),
                json,
                out,
            )
        }
        DlqCommand::Show(IdArg { id }) => {
            let (entry, audit) = ledger.get_dead_letter(id).await.map_err(fail)?;
            show(&entry, &audit, json, out)
        }
        DlqCommand::Replay(args) => replay(&ledger, config, args, json, out).await,
        DlqCommand::Discard(args) => discard(&ledger, config, args, json, out).await,
    }
}

fn parse_class(value: &str) -> Result<FailureClass, String> {
    [
        FailureClass::Temporary,
        FailureClass::Permanent,
        FailureClass::Unknown,
    ]
    .into_iter()
    .find(|c| c.as_str().eq_ignore_ascii_case(value))
    .ok_or_else(|| format!("unknown failure class {value:?}"))
}

fn parse_status(value: &str) -> Result<DeadLetterStatus, String> {
    DeadLetterStatus::parse(&value.to_ascii_uppercase())
        .ok_or_else(|| format!("unknown status {value:?}"))
}

fn filter(args: FilterArgs, reason_contains: Option<String>) -> DeadLetterFilter {
    DeadLetterFilter {
        stage: args.stage,
        workflow: args.workflow,
        failure_class: args.class,
        reason_contains,
        status: args.status,
        correlation_id: args.correlation,
        since: args.since,
        until: args.until,
        limit: args.limit.clamp(1, 500),
        page_token: String::new(),
    }
}

async fn discard(
    ledger: &LedgerClient,
    config: &CliConfig,
    args: DiscardArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let fail = |e| CliError::from_ledger(&config.ledger_url, e);
    crate::error::require_reason(&args.reason)?;
    let (entry, applied) = if args.dry_run {
        (
            ledger.get_dead_letter(args.id).await.map_err(fail)?.0,
            false,
        )
    } else {
        let change = ledger
            .discard_dead_letter(args.id, &args.reason)
            .await
            .map_err(fail)?;
        (change.dead_letter, change.applied)
    };
    if json {
        let answer = json!({
            "dead_letter": entry_json(&entry), "dry_run": args.dry_run, "applied": applied,
        });
        writeln!(out, "{answer}")?;
    } else if args.dry_run {
        writeln!(
            out,
            "would discard dead letter {} ({}, {}): {}",
            entry.id,
            entry.status.as_str(),
            entry.subject,
            entry.reason
        )?;
    } else {
        let note = if applied { "" } else { " (already)" };
        writeln!(out, "dead letter {} DISCARDED{note}", entry.id)?;
    }
    Ok(())
}

async fn replay(
    ledger: &LedgerClient,
    config: &CliConfig,
    args: ReplayArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let fail = |e| CliError::from_ledger(&config.ledger_url, e);
    crate::error::require_reason(&args.reason)?;
    if args.ids.is_empty() && !args.filter.any() {
        let msg = "name the entries to replay, or select them with a filter flag";
        return Err(CliError::Usage(msg.to_owned()).into());
    }
    let entries = if args.ids.is_empty() {
        let page = ledger
            .list_dead_letters(&filter(args.filter, None))
            .await
            .map_err(fail)?;
        page.dead_letters
    } else {
        let mut entries = Vec::new();
        for id in &args.ids {
            entries.push(ledger.get_dead_letter(*id).await.map_err(fail)?.0);
        }
        entries
    };
    if args.dry_run {
        return replay::dry_run(&entries, json, out);
    }
    let batch = args.batch.unwrap_or_else(|| {
        format!(
            "{}-{}",
            Utc::now().format("%Y%m%dT%H%M%S%.3f"),
            std::process::id()
        )
    });
    let plan = sluice_ops::replay::Plan {
        reason: args.reason,
        batch,
        max_replays: args.max_replays,
        rps: args.rps,
    };
    replay::replay(ledger, config, entries, plan, json, out).await
}
