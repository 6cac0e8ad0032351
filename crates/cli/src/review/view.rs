//! How `sluice review list|show` print items: a table or JSON, each item
//! with its owner (from `--workflows-dir`) and where it stands against its
//! SLA.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sluice_core::workflow::Owners;
use sluice_ledger::{EscalationStatus, ReviewDetail, ReviewItem, ReviewStatus};

use crate::output::{self, table};
use crate::owners;

/// Where an item stands against its SLA at `now`.
fn sla(item: &ReviewItem, now: DateTime<Utc>) -> &'static str {
    match item.sla_due_at {
        None => "none",
        Some(_) if item.status != ReviewStatus::Open => "decided",
        Some(due) if due <= now => "overdue",
        Some(_) => "ok",
    }
}

/// The queue as a table (or JSON), oldest first.
pub(super) fn list(
    items: &[ReviewItem],
    owners: &Owners,
    more: bool,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let now = Utc::now();
    if json {
        let items: Vec<Value> = items
            .iter()
            .map(|i| with_owner(item_json(i), owners, i, now))
            .collect();
        writeln!(out, "{}", json!({ "items": items, "more": more }))?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|i| {
            vec![
                i.id.to_string(),
                i.workflow.clone(),
                owners::cell(owners, &i.workflow),
                i.status.as_str().to_owned(),
                i.kind.as_str().to_owned(),
                output::duration(now - i.created_at),
                sla(i, now).to_owned(),
                i.execution_id.to_string(),
                text(&i.handoff["why_stopped"]),
            ]
        })
        .collect();
    let header = [
        "ID",
        "WORKFLOW",
        "OWNER",
        "STATUS",
        "KIND",
        "AGE",
        "SLA",
        "EXECUTION",
        "WHY",
    ];
    table(out, &header, &rows)?;
    if more {
        writeln!(out, "(more items: raise --limit or narrow the filters)")?;
    }
    Ok(())
}

/// One item in plain language: the handoff, its owner, its escalation and
/// its audit trail.
pub(super) fn show(
    detail: &ReviewDetail,
    owners: &Owners,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let item = &detail.item;
    let now = Utc::now();
    if json {
        let audit: Vec<Value> = detail.audit.iter().map(output::audit_json).collect();
        let answer = json!({
            "item": with_owner(item_json(item), owners, item, now),
            "escalation": detail.escalation.as_ref().map(escalation_json),
            "audit": audit,
        });
        writeln!(out, "{answer}")?;
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
    match owners.get(&item.workflow) {
        Some(o) => {
            let contact = o.contact.as_deref().unwrap_or("no contact declared");
            writeln!(out, "Owner:            {} ({contact})", o.owner)?;
        }
        None => writeln!(out, "Owner:            - (none declared)")?,
    }
    match item.sla_due_at {
        Some(due) => writeln!(
            out,
            "SLA:              due {} ({})",
            output::instant(due),
            sla(item, now)
        )?,
        None => writeln!(out, "SLA:              none")?,
    }
    if let Some(e) = &detail.escalation {
        let error = e
            .last_error
            .as_deref()
            .map(|e| format!(", last error: {e}"))
            .unwrap_or_default();
        writeln!(
            out,
            "Escalation:       webhook {} after {} attempt(s){error}",
            e.state.as_str(),
            e.attempts
        )?;
    }
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
    output::audit_table(out, &detail.audit)?;
    Ok(())
}

/// An item as JSON, without the stored envelope (it is for resuming, not
/// for reading).
pub(super) fn item_json(i: &ReviewItem) -> Value {
    let mut handoff = i.handoff.clone();
    if let Some(fields) = handoff.as_object_mut() {
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

/// `item_json` plus the owner and the SLA standing, which come from the
/// workflow definitions and the clock rather than the ledger.
fn with_owner(mut value: Value, owners: &Owners, item: &ReviewItem, now: DateTime<Utc>) -> Value {
    if let Some(fields) = value.as_object_mut() {
        fields.insert("owner".into(), owners::json(owners, &item.workflow));
        fields.insert("sla".into(), Value::from(sla(item, now)));
    }
    value
}

fn escalation_json(e: &EscalationStatus) -> Value {
    json!({
        "state": e.state.as_str(),
        "attempts": e.attempts,
        "last_error": e.last_error,
        "created_at": e.created_at,
        "finished_at": e.finished_at,
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;
    use sluice_ledger::ReviewKind;

    fn item(status: ReviewStatus, due_in: Option<i64>) -> ReviewItem {
        let now = Utc::now();
        ReviewItem {
            id: 7,
            execution_id: Default::default(),
            generation: "g".into(),
            workflow: "reservation".into(),
            correlation_id: "c".into(),
            kind: ReviewKind::NeedsReview,
            handoff: json!({ "why_stopped": "party of 40", "envelope": { "secret": 1 } }),
            status,
            sla_due_at: due_in.map(|s| now + TimeDelta::seconds(s)),
            created_at: now - TimeDelta::seconds(90),
            decided_at: None,
            decided_by: None,
            decision_reason: None,
            corrections: None,
            manually_corrected: false,
        }
    }

    #[test]
    fn the_sla_column_tells_overdue_from_waiting_and_decided() {
        let now = Utc::now();
        assert_eq!(sla(&item(ReviewStatus::Open, Some(-5)), now), "overdue");
        assert_eq!(sla(&item(ReviewStatus::Open, Some(600)), now), "ok");
        assert_eq!(sla(&item(ReviewStatus::Approved, Some(-5)), now), "decided");
        assert_eq!(sla(&item(ReviewStatus::Open, None), now), "none");
    }

    #[test]
    fn json_items_carry_the_owner_and_never_the_envelope() -> anyhow::Result<()> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows");
        let owners = Owners::new(&sluice_core::WorkflowSpec::load_all(&root)?);
        let mut out = Vec::new();
        list(
            &[item(ReviewStatus::Open, Some(-5))],
            &owners,
            false,
            true,
            &mut out,
        )?;
        let answer: Value = serde_json::from_slice(&out)?;
        let first = &answer["items"][0];
        assert_eq!(first["owner"], "front-of-house");
        assert_eq!(first["sla"], "overdue");
        assert!(first["handoff"].get("envelope").is_none(), "{first}");
        let mut out = Vec::new();
        list(
            &[item(ReviewStatus::Open, None)],
            &Owners::default(),
            true,
            false,
            &mut out,
        )?;
        let table = String::from_utf8(out)?;
        assert!(table.contains("OWNER"), "{table}");
        assert!(table.contains("more items"), "{table}");
        Ok(())
    }
}
