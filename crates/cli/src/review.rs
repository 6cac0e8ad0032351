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
    AuditRecord, Decision, LedgerClient, ReviewDecision, ReviewFilter, ReviewItem, ReviewStatus,
};

use crate::CliConfig;
use crate::error::CliError;
use crate::output::{self, table};

mod approve;

use approve::parse_set;

/// Review commands.
#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Lists review items, oldest first.
    List(ListArgs),
    /// Shows one item's handoff in plain language and its audit trail.
    Show(IdArg),
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
}

/// An item id.
#[derive(Debug, Args)]
pub struct IdArg {
    /// The review item's id.
    pub id: i64,
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
        ReviewCommand::Show(IdArg { id }) => {
            let (item, audit) = ledger.get_review_item(id).await.map_err(fail)?;
            show(&item, &audit, json, out)
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
    if json {
        let items: Vec<Value> = page.items.iter().map(item_json).collect();
        let more = !page.next_page_token.is_empty();
        writeln!(out, "{}", json!({ "items": items, "more": more }))?;
        return Ok(());
    }
    let now = Utc::now();
    let rows: Vec<Vec<String>> = page
        .items
        .iter()
        .map(|i| {
            vec![
                i.id.to_string(),
                i.workflow.clone(),
                i.status.as_str().to_owned(),
                i.kind.as_str().to_owned(),
                output::duration(now - i.created_at),
                i.execution_id.to_string(),
                text(&i.handoff["why_stopped"]),
            ]
        })
        .collect();
    let header = [
        "ID",
        "WORKFLOW",
        "STATUS",
        "KIND",
        "AGE",
        "EXECUTION",
        "WHY",
    ];
    table(out, &header, &rows)?;
    Ok(())
}

fn item_json(i: &ReviewItem) -> Value {
    let mut handoff = i.handoff.clone();
    if let Some(fields) = handoff.as_object_mut() {
        // The envelope is for resuming, not for reading.
        fields.remove("envelope");
    }
    json!({
        "id": i.id,
        "execution_id": i.execution_id,
        "generation": i.generation,
        "workflow": i.workflow,
        "correlation_id": i.correlation_id,
        "kind": i.kind.as_str(),
        "status": i.status.as_str(),
        "handoff": handoff,
        "sla_due_at": i.sla_due_at,
        "created_at": i.created_at,
        "decided_at": i.decided_at,
        "decided_by": i.decided_by,
        "decision_reason": i.decision_reason,
        "corrections": i.corrections,
        "manually_corrected": i.manually_corrected,
    })
}

/// A handoff value as one line of text.
fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn show(
    item: &ReviewItem,
    audit: &[AuditRecord],
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if json {
        let audit: Vec<Value> = audit.iter().map(output::audit_json).collect();
        writeln!(
            out,
            "{}",
            json!({ "item": item_json(item), "audit": audit })
        )?;
        return Ok(());
    }
    let h = &item.handoff;
    writeln!(
        out,
        "Review item {} ({}, {})",
        item.id,
        item.status.as_str(),
        item.kind.as_str()
    )?;
    writeln!(
        out,
        "Execution:        {} ({})",
        item.execution_id, item.workflow
    )?;
    writeln!(out, "Correlation:      {}", item.correlation_id)?;
    writeln!(
        out,
        "Opened:           {}",
        output::instant(item.created_at)
    )?;
    writeln!(out, "The user wanted:  {}", text(&h["requested"]))?;
    writeln!(out, "Proposed action:  {}", text(&h["proposed_action"]))?;
    writeln!(out, "Data collected:")?;
    if let Some(fields) = h["collected"].as_object() {
        for (name, value) in fields {
            let shown = value.get("value").unwrap_or(value);
            writeln!(out, "  {name}: {}", text(shown))?;
        }
    }
    writeln!(out, "Actions tried:    {}", text(&h["actions_attempted"]))?;
    writeln!(out, "Systems returned: {}", text(&h["systems_returned"]))?;
    writeln!(out, "Why it stopped:   {}", text(&h["why_stopped"]))?;
    writeln!(out, "Decision needed:  {}", text(&h["decision_needed"]))?;
    if let Some(by) = &item.decided_by {
        let reason = item.decision_reason.as_deref().unwrap_or("-");
        writeln!(out, "Decided by:       {by}: {reason}")?;
    }
    if let Some(corrections) = &item.corrections {
        writeln!(out, "Corrections:      {corrections}")?;
    }
    writeln!(out, "\nAudit trail:")?;
    output::audit_table(out, audit)?;
    Ok(())
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

fn report(
    item: &ReviewItem,
    state: sluice_core::State,
    resumed: bool,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if json {
        let answer =
            json!({ "item": item_json(item), "state": state.to_string(), "resumed": resumed });
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
