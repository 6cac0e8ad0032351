//! How `sluice dlq list` and `show` print entries.

use std::io::Write;

use chrono::Utc;
use serde_json::{Value, json};
use sluice_core::workflow::Owners;
use sluice_ledger::{AuditRecord, DeadLetter};

use crate::output::{self, table};
use crate::owners;

pub(super) fn list(
    entries: &[DeadLetter],
    owners: &Owners,
    more: bool,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if json {
        let entries: Vec<Value> = entries
            .iter()
            .map(|d| {
                let mut entry = entry_json(d);
                entry["owner"] = owners::json(owners, &d.workflow);
                entry
            })
            .collect();
        writeln!(out, "{}", json!({ "dead_letters": entries, "more": more }))?;
        return Ok(());
    }
    let now = Utc::now();
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|d| {
            vec![
                d.id.to_string(),
                d.status.as_str().to_owned(),
                d.stage.clone(),
                d.workflow.clone(),
                owners::cell(owners, &d.workflow),
                d.failure_class.as_str().to_owned(),
                output::duration(now - d.created_at),
                d.replay_count.to_string(),
                d.reason.clone(),
            ]
        })
        .collect();
    let header = [
        "ID", "STATUS", "STAGE", "WORKFLOW", "OWNER", "CLASS", "AGE", "REPLAYS", "REASON",
    ];
    table(out, &header, &rows)?;
    Ok(())
}

/// An entry as JSON, without its payload (which `show` renders).
pub(super) fn entry_json(d: &DeadLetter) -> Value {
    json!({
        "id": d.id,
        "status": d.status.as_str(),
        "stage": d.stage,
        "workflow": d.workflow,
        "execution_id": d.execution_id,
        "correlation_id": d.correlation_id,
        "failure_class": d.failure_class.as_str(),
        "reason": d.reason,
        "error_detail": d.error_detail,
        "attempts": d.attempts,
        "first_failed_at": d.first_failed_at,
        "last_failed_at": d.last_failed_at,
        "subject": d.subject,
        "headers": d.headers,
        "stream": d.stream,
        "stream_sequence": d.stream_sequence,
        "replay_count": d.replay_count,
        "created_at": d.created_at,
        "updated_at": d.updated_at,
    })
}

/// The payload as JSON when it parses; otherwise only its size, since an
/// undecodable payload may hold anything (including personal data).
fn payload(d: &DeadLetter) -> Value {
    serde_json::from_slice(&d.payload)
        .unwrap_or_else(|_| json!({ "unparsed_bytes": d.payload.len() }))
}

pub(super) fn show(
    d: &DeadLetter,
    audit: &[AuditRecord],
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if json {
        let audit: Vec<Value> = audit.iter().map(output::audit_json).collect();
        let mut entry = entry_json(d);
        entry["payload"] = payload(d);
        writeln!(out, "{}", json!({ "dead_letter": entry, "audit": audit }))?;
        return Ok(());
    }
    let execution = d.execution_id.map_or("-".to_owned(), |id| id.to_string());
    writeln!(out, "Dead letter {} ({})", d.id, d.status.as_str())?;
    writeln!(out, "Stage:        {} ({})", d.stage, d.workflow)?;
    writeln!(out, "Execution:    {execution}")?;
    writeln!(out, "Correlation:  {}", d.correlation_id)?;
    writeln!(
        out,
        "Failure:      {}: {}",
        d.failure_class.as_str(),
        d.reason
    )?;
    writeln!(out, "Attempts:     {}", d.attempts)?;
    writeln!(out, "Last failed:  {}", output::instant(d.last_failed_at))?;
    writeln!(out, "Subject:      {}", d.subject)?;
    writeln!(out, "Replays:      {}", d.replay_count)?;
    match serde_json::from_slice::<Value>(&d.payload) {
        Ok(value) => writeln!(out, "Payload:\n{value:#}")?,
        Err(_) => writeln!(out, "Payload:      {} bytes, not JSON", d.payload.len())?,
    }
    writeln!(out, "\nAudit trail:")?;
    output::audit_table(out, audit)?;
    Ok(())
}
