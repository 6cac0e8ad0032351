//! `sluice eval import-feedback` and `accept-feedback`: reviewers' decisions
//! as candidate eval cases, and a person's acceptance of them.
//!
//! Import reads the workflow's decided review items from the ledger, keeps
//! approvals with corrections and rejections, and appends one candidate case
//! per item (`feedback-<review id>`, built by [`sluice_eval::feedback`]) to a
//! pending file that no run reads. An id already written in any of the
//! workflow's case files, or in the output file, is not written again, so
//! importing twice adds nothing. A candidate holds the message as the user
//! sent it: a person reads it, edits or drops it, and accepts it into
//! `eval/feedback.jsonl`.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::{Map, Value, json};
use sluice_core::Envelope;
use sluice_eval::feedback::{Decision, FeedbackWorkflow, Reviewed, case_id};
use sluice_eval::suite::{FEEDBACK_FILE, PENDING_FEEDBACK_FILE, known_ids};
use sluice_eval::{Case, pending};
use sluice_interpreter::Registry;
use sluice_ledger::{LedgerClient, ReviewFilter, ReviewItem, ReviewStatus};

use super::{usage, workflow_dir};
use crate::CliConfig;
use crate::error::CliError;
use crate::output;

/// Arguments of `sluice eval import-feedback`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The workflow whose decided reviews to import.
    pub workflow: String,
    /// The folder of declared workflows (`<dir>/<name>/workflow.toml`).
    #[arg(long, default_value = "workflows")]
    pub workflows: PathBuf,
    /// Only reviews decided at or after this: an RFC 3339 time or a
    /// duration ago (`90s`, `15m`, `1h`, `2d`).
    #[arg(long, value_parser = output::parse_time)]
    pub since: Option<DateTime<Utc>>,
    /// The file to append the candidates to
    /// [default: <workflow>/eval/pending-feedback.jsonl].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Arguments of `sluice eval accept-feedback`.
#[derive(Debug, Args)]
pub struct AcceptArgs {
    /// The workflow whose pending candidates to accept.
    pub workflow: String,
    /// The ids of the checked candidates (`feedback-<review id>`).
    #[arg(required = true)]
    pub ids: Vec<String>,
    /// The folder of declared workflows (`<dir>/<name>/workflow.toml`).
    #[arg(long, default_value = "workflows")]
    pub workflows: PathBuf,
    /// The pending file [default: <workflow>/eval/pending-feedback.jsonl].
    #[arg(long)]
    pub from: Option<PathBuf>,
}

/// Runs `sluice eval import-feedback`.
pub(super) async fn import(
    args: ImportArgs,
    config: &CliConfig,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let dir = workflow_dir(&args.workflows, &args.workflow)?;
    let workflow = FeedbackWorkflow::load(&dir, &Registry::with_builtin()).map_err(usage)?;
    let eval_dir = dir.join("eval");
    let file = args
        .out
        .clone()
        .unwrap_or_else(|| eval_dir.join(PENDING_FEEDBACK_FILE));
    let known = known_ids(&eval_dir, Some(&file)).map_err(usage)?;
    let ledger = config.ledger()?;
    let mut items = Vec::new();
    for status in [ReviewStatus::Approved, ReviewStatus::Rejected] {
        items.extend(decided(&ledger, config, &args.workflow, status).await?);
    }
    // An approval that corrected nothing confirms the reading: no candidate.
    items.retain(|i| i.status == ReviewStatus::Rejected || has_corrections(i));
    items.retain(|i| args.since.is_none_or(|since| i.decided_at >= Some(since)));
    items.sort_by_key(|i| i.id);

    let (mut written, mut already, mut skipped) = (Vec::<Case>::new(), Vec::new(), Vec::new());
    for item in &items {
        let id = case_id(item.id);
        if known.contains(&id) {
            already.push(id);
            continue;
        }
        let built = reviewed(item)
            .ok_or_else(|| "no original message is stored with it".to_owned())
            .and_then(|r| {
                workflow.case(&r).map_err(|e| match e {
                    sluice_eval::Error::Feedback { reason, .. } => reason,
                    other => other.to_string(),
                })
            });
        match built {
            Ok(case) => written.push(case),
            Err(reason) => skipped.push(json!({"review_item": item.id, "reason": reason})),
        }
    }
    if !written.is_empty() {
        if args.out.is_none() {
            std::fs::create_dir_all(&eval_dir)
                .map_err(|e| CliError::Failed(format!("{}: {e}", eval_dir.display())))?;
        }
        pending::append(&file, &written).map_err(|e| CliError::Failed(e.to_string()))?;
    }
    let ids: Vec<&str> = written.iter().map(|c| c.id.as_str()).collect();
    if json {
        let report = json!({
            "file": file, "written": ids, "already": already, "skipped": skipped,
        });
        writeln!(out, "{report}")?;
        return Ok(());
    }
    writeln!(
        out,
        "wrote {} candidate case(s) to {}{}",
        ids.len(),
        file.display(),
        if ids.is_empty() {
            String::new()
        } else {
            format!(": {}", ids.join(", "))
        }
    )?;
    if !already.is_empty() {
        writeln!(out, "{} already pending or accepted", already.len())?;
    }
    for skip in &skipped {
        let reason = skip["reason"].as_str().unwrap_or_default();
        writeln!(out, "skipped review item {}: {reason}", skip["review_item"])?;
    }
    if !ids.is_empty() {
        writeln!(
            out,
            "Check every candidate before accepting it: each holds the message as the user sent it, \
             personal data included, and the reviewer's correction as the expected answer.\n\
             Accept the checked ones: sluice eval accept-feedback {} {}",
            args.workflow,
            ids.join(" ")
        )?;
    }
    Ok(())
}

/// Runs `sluice eval accept-feedback`.
pub(super) fn accept(args: AcceptArgs, json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let dir = workflow_dir(&args.workflows, &args.workflow)?;
    let eval_dir = dir.join("eval");
    let from = args
        .from
        .unwrap_or_else(|| eval_dir.join(PENDING_FEEDBACK_FILE));
    let unique: BTreeSet<&String> = args.ids.iter().collect();
    if unique.len() != args.ids.len() {
        return Err(CliError::Usage("an id is given twice".into()).into());
    }
    let moved = pending::accept(&eval_dir, &from, &args.ids).map_err(|e| match e {
        sluice_eval::Error::NotPending { .. } => CliError::NotFound(e.to_string()).into(),
        other => usage(other),
    })?;
    let to = eval_dir.join(FEEDBACK_FILE);
    if json {
        writeln!(out, "{}", json!({ "accepted": moved, "file": to }))?;
    } else {
        writeln!(out, "accepted {} into {}", moved.join(", "), to.display())?;
    }
    Ok(())
}

/// Every item of `workflow` in `status`, page after page.
async fn decided(
    ledger: &LedgerClient,
    config: &CliConfig,
    workflow: &str,
    status: ReviewStatus,
) -> anyhow::Result<Vec<ReviewItem>> {
    let mut filter = ReviewFilter {
        workflow: Some(workflow.to_owned()),
        status: Some(status),
        limit: 500,
        ..ReviewFilter::default()
    };
    let mut items = Vec::new();
    loop {
        let page = ledger
            .list_review_items(&filter)
            .await
            .map_err(|e| CliError::from_ledger(&config.ledger_url, e))?;
        items.extend(page.items);
        if page.next_page_token.is_empty() {
            return Ok(items);
        }
        filter.page_token = page.next_page_token;
    }
}

fn has_corrections(item: &ReviewItem) -> bool {
    item.corrections
        .as_ref()
        .and_then(Value::as_object)
        .is_some_and(|fields| !fields.is_empty())
}

/// What the case builder needs of a decided item; `None` when the item
/// holds no readable envelope (the original message).
fn reviewed(item: &ReviewItem) -> Option<Reviewed> {
    let decision = match item.status {
        ReviewStatus::Approved => Decision::Approved,
        ReviewStatus::Rejected => Decision::Rejected,
        ReviewStatus::Open | ReviewStatus::Escalated => return None,
    };
    let envelope: Envelope = serde_json::from_value(item.handoff.get("envelope")?.clone()).ok()?;
    let corrections: Map<String, Value> = item
        .corrections
        .as_ref()
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    Some(Reviewed {
        id: item.id,
        decision,
        decided_by: item.decided_by.clone().unwrap_or_default(),
        decided_at: item.decided_at.unwrap_or(item.created_at),
        reason: item.decision_reason.clone().unwrap_or_default(),
        corrections,
        envelope,
    })
}
