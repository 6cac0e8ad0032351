//! `sluice review …`: the queue of executions waiting for a person, and the
//! decisions on them.
//!
//! An approval with corrections is checked again by the gate's deterministic
//! rules before anything is decided, then decided in the ledger (which moves
//! the execution to `HUMAN_APPROVED` and records who), then resumed: the
//! envelope stored on the item goes to the execute stage with generation
//! `review:<id>`, so running the approval again after a crash republishes
//! under the same `Nats-Msg-Id` and the broker drops the copy.

use std::io::Write;
use std::path::PathBuf;

use chrono::Utc;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use sluice_ledger::{
    Decision, LedgerClient, ReviewDecision, ReviewFilter, ReviewItem, ReviewStatus,
};

use crate::CliConfig;
use crate::error::CliError;
use crate::output;
use crate::owners::WorkflowsDir;

mod approve;
mod view;

use approve::parse_set;

/// Review commands.
#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Lists review items, oldest first.
    List(ListArgs),
    /// Shows one item's handoff in plain language, its owner, its
    /// escalation and its audit trail.
    Show(ShowArgs),
    /// Approves an item (optionally correcting fields) and resumes it.
    Approve(ApproveArgs),
    /// Rejects an item: the execution is CLOSED with no effect.
    Reject(DecideArgs),
    /// Escalates an item: the execution is ESCALATED.
    Escalate(DecideArgs),
}

/// Arguments of `sluice review list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this workflow.
    #[arg(long)]
    pub workflow: Option<String>,
    /// Only this status: open, approved, rejected, escalated.
    #[arg(long, value_parser = parse_status)]
    pub status: Option<ReviewStatus>,
    /// Only items opened longer ago than this (`90s`, `15m`, `1h`, `2d`).
    #[arg(long, value_parser = output::parse_time)]
    pub older_than: Option<chrono::DateTime<Utc>>,
    /// Only open items past their workflow's review SLA.
    #[arg(long)]
    pub overdue: bool,
    /// At most this many items.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Where the owners come from.
    #[command(flatten)]
    pub workflows: WorkflowsDir,
}

/// Arguments of `sluice review show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The review item's id.
    pub id: i64,
    /// Where the owner comes from.
    #[command(flatten)]
    pub workflows: WorkflowsDir,
}

/// Arguments of `sluice review reject|escalate`.
#[derive(Debug, Args)]
pub struct DecideArgs {
    /// The review item's id.
    pub id: i64,
    /// Why (required; kept in the audit trail).
    #[arg(long)]
    pub reason: String,
}

/// Arguments of `sluice review approve`.
#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The review item's id.
    pub id: i64,
    /// Why (required; kept in the audit trail).
    #[arg(long)]
    pub reason: String,
    /// A corrected field, `name=value` (the value is read as JSON when it
    /// parses, else as text); repeatable.
    #[arg(long = "set", value_parser = parse_set)]
    pub set: Vec<(String, Value)>,
    /// The workflow definitions, for checking corrections against the gate's
    /// rules.
    #[arg(long, default_value = "workflows")]
    pub workflows_dir: PathBuf,
}

/// Runs a review command.
pub async fn run(
    command: ReviewCommand,
    config: &CliConfig,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let ledger = config.ledger()?;
    let fail = |e| CliError::from_ledger(&config.ledger_url, e);
    match command {
        ReviewCommand::List(args) => list(&ledger, config, args, json, out).await,
        ReviewCommand::Show(args) => {
            let detail = ledger.review_item_detail(args.id).await.map_err(fail)?;
            view::show(&detail, &args.workflows.owners(), json, out)
        }
        ReviewCommand::Approve(args) => approve::approve(&ledger, config, args, json, out).await,
        ReviewCommand::Reject(args) => {
            decide(&ledger, config, args, ReviewDecision::Reject, json, out).await
        }
        ReviewCommand::Escalate(args) => {
            decide(&ledger, config, args, ReviewDecision::Escalate, json, out).await
        }
    }
}

fn parse_status(value: &str) -> Result<ReviewStatus, String> {
    ReviewStatus::parse(&value.to_ascii_uppercase())
        .ok_or_else(|| format!("unknown status {value:?}"))
}

async fn list(
    ledger: &LedgerClient,
    config: &CliConfig,
    args: ListArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let older_than = args
        .older_than
        .map(|at| (Utc::now() - at).to_std().unwrap_or_default());
    let filter = ReviewFilter {
        workflow: args.workflow,
        status: args.status,
        older_than,
        overdue: args.overdue,
        limit: args.limit.min(500),
        ..Default::default()
    };
    let page = ledger
        .list_review_items(&filter)
        .await
        .map_err(|e| CliError::from_ledger(&config.ledger_url, e))?;
    let more = !page.next_page_token.is_empty();
    view::list(&page.items, &args.workflows.owners(), more, json, out)
}

async fn decide(
    ledger: &LedgerClient,
    config: &CliConfig,
    args: DecideArgs,
    decision: ReviewDecision,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let d = Decision {
        id: args.id,
        decision,
        reason: args.reason,
        corrections: None,
    };
    let decided = ledger
        .decide_review(&d)
        .await
        .map_err(|e| CliError::from_ledger(&config.ledger_url, e))?;
    report(&decided.item, decided.state, false, json, out)
}

pub(crate) fn report(
    item: &ReviewItem,
    state: sluice_core::State,
    resumed: bool,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if json {
        let answer = json!({
            "item": view::item_json(item), "state": state.to_string(), "resumed": resumed,
        });
        writeln!(out, "{answer}")?;
    } else {
        let then = if resumed {
            "; resumed at the execute stage"
        } else {
            ""
        };
        writeln!(
            out,
            "review item {} {}: execution {} is {state}{then}",
            item.id,
            item.status.as_str(),
            item.execution_id
        )?;
    }
    Ok(())
}
