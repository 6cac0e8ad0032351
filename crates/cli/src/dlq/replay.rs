//! `sluice dlq replay`: renders [`sluice_ops::replay`] for the terminal.
//! The engine does the ledger's two phases and the resume checks; this file
//! only prints what it did, a line per entry as it goes (or one JSON
//! document at the end).

use std::io::Write;

use serde_json::{Value, json};
use sluice_ledger::{DeadLetter, LedgerClient};
use sluice_ops::replay::{self, EntryResult, Outcome, Plan, Replay};

use crate::CliConfig;
use crate::error::CliError;

/// Lists what a replay would send; changes nothing.
pub(super) fn dry_run(
    entries: &[DeadLetter],
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let planned = replay::preview(entries);
    if json {
        let rows: Vec<Value> = planned
            .iter()
            .map(|p| json!({ "id": p.id, "subject": p.subject, "msg_id": p.msg_id }))
            .collect();
        writeln!(out, "{}", json!({ "dry_run": true, "would_replay": rows }))?;
        return Ok(());
    }
    for p in &planned {
        writeln!(
            out,
            "would replay {} to {} as {}",
            p.id, p.subject, p.msg_id
        )?;
    }
    writeln!(out, "{} entries; nothing sent", planned.len())?;
    Ok(())
}

/// Replays `entries` in order; stops at the first failure (the batch can be
/// resumed).
pub(super) async fn replay(
    ledger: &LedgerClient,
    config: &CliConfig,
    entries: Vec<DeadLetter>,
    plan: Plan,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let jetstream = async_nats::jetstream::new(config.connect().await?);
    let batch = plan.batch.clone();
    if !json {
        writeln!(out, "batch {batch} (resume with --batch {batch})")?;
    }
    let mut run = Replay::new(ledger.clone(), jetstream, entries, plan);
    let mut results = Vec::new();
    while let Some(result) = run.next_entry().await {
        let result = result.map_err(|e| failure(config, &batch, e))?;
        if json {
            results.push(result_json(&result));
        } else {
            writeln!(out, "{}", line(&result))?;
        }
    }
    if json {
        writeln!(out, "{}", json!({ "batch": batch, "replayed": results }))?;
    }
    Ok(())
}

/// One entry's line of the human output.
fn line(r: &EntryResult) -> String {
    let (id, msg) = (r.id, &r.msg_id);
    match r.outcome {
        Outcome::Skipped => format!("{id}: already published in this batch as {msg}; skipped"),
        Outcome::Found { sequence } => {
            format!("{id}: already sent as {msg} (sequence {sequence}); recorded, not resent")
        }
        Outcome::Published => {
            let note = if r.execution_replayed {
                ""
            } else {
                " (execution not moved to REPLAYED)"
            };
            format!("{id}: published to {} as {msg}{note}", r.subject)
        }
    }
}

/// One entry of the `--json` output.
fn result_json(r: &EntryResult) -> Value {
    match r.outcome {
        Outcome::Skipped => json!({ "id": r.id, "msg_id": r.msg_id, "result": "skipped" }),
        Outcome::Found { sequence } => json!({
            "id": r.id, "msg_id": r.msg_id, "result": "found",
            "sequence": sequence, "execution_replayed": r.execution_replayed,
        }),
        Outcome::Published => json!({
            "id": r.id, "msg_id": r.msg_id, "result": "published",
            "execution_replayed": r.execution_replayed,
        }),
    }
}

/// The engine's error with the CLI's exit code and wording.
fn failure(config: &CliConfig, batch: &str, err: replay::Error) -> CliError {
    match err {
        replay::Error::Ledger { source, .. } => CliError::from_ledger(&config.ledger_url, source),
        replay::Error::Lookup { id, source } => {
            CliError::Failed(format!("{id}: looking for an earlier copy: {source}"))
        }
        replay::Error::Publish { id, source } => CliError::Failed(format!(
            "{id}: publish failed: {source}; resume with --batch {batch}"
        )),
    }
}
