//! `sluice review approve`: check the corrections with the gate's rules,
//! decide, then resume the execution at the execute stage.

use std::io::Write;

use chrono::Utc;
use serde_json::{Map, Value};
use sluice_core::pipeline::Verdict;
use sluice_core::{Envelope, ExecutionId, Stage, WorkflowSpec};
use sluice_gate::rules::{self, Facts, Policy};
use sluice_ledger::{Decision, LedgerClient, ReviewDecision, ReviewStatus};

use super::{ApproveArgs, report};
use crate::CliConfig;
use crate::error::CliError;

/// Parses `--set name=value`: the value as JSON when it parses, else text.
pub(super) fn parse_set(value: &str) -> Result<(String, Value), String> {
    let (name, raw) = value
        .split_once('=')
        .filter(|(name, _)| !name.trim().is_empty())
        .ok_or_else(|| format!("{value:?} is not name=value"))?;
    let parsed = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
    Ok((name.trim().to_owned(), parsed))
}

/// Approves item `args.id`; see the module documentation.
pub(super) async fn approve(
    ledger: &LedgerClient,
    config: &CliConfig,
    args: ApproveArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let fail = |e| CliError::from_ledger(&config.ledger_url, e);
    let (item, _) = ledger.get_review_item(args.id).await.map_err(fail)?;
    let mut envelope: Envelope =
        serde_json::from_value(item.handoff["envelope"].clone()).map_err(|e| {
            CliError::Failed(format!(
                "review item {} has no envelope to resume: {e}",
                item.id
            ))
        })?;
    if envelope.interpretation.is_none() {
        // Stopped before the request was understood: there is nothing to
        // execute; a person handles it and rejects or escalates.
        return Err(CliError::Failed(format!(
            "review item {} stopped before interpretation and cannot be resumed; reject or escalate it",
            item.id
        ))
        .into());
    }
    let corrections = if item.status == ReviewStatus::Approved {
        item.corrections.clone()
    } else {
        (!args.set.is_empty()).then(|| Value::Object(args.set.into_iter().collect::<Map<_, _>>()))
    };
    if let Some(fields) = &corrections {
        correct(&mut envelope, fields, &args.workflows_dir)?;
    }
    // Executions resume from HUMAN_APPROVED, which the executor enters from a
    // review verdict.
    if let Some(decision) = envelope.decision.as_mut() {
        decision.verdict = Verdict::Review;
    }
    // Connect before deciding: an unreachable broker then leaves the item
    // undecided instead of approved and not resumed.
    let bus = config.bus().await?;
    let (item, state) = if item.status == ReviewStatus::Approved {
        // Decided earlier and interrupted before resuming: resume only.
        let (execution, _) = ledger
            .get_execution(ExecutionId::from_uuid(item.execution_id))
            .await
            .map_err(fail)?;
        let state = execution
            .state
            .parse()
            .map_err(|_| CliError::Failed(format!("stored state {:?}", execution.state)))?;
        (item, state)
    } else {
        let d = Decision {
            id: item.id,
            decision: ReviewDecision::Approve,
            reason: args.reason,
            corrections,
        };
        let decided = ledger.decide_review(&d).await.map_err(fail)?;
        (decided.item, decided.state)
    };
    bus.publisher()
        .envelope_to_stage(&envelope, Stage::Execute, &item.resume_generation(), None)
        .await
        .map_err(|e| {
            CliError::Failed(format!(
                "approved, but resuming failed (run the approval again to resume): {e}"
            ))
        })?;
    report(&item, state, true, json, out)
}

/// Applies `fields` to the envelope's contract and checks the result with
/// the gate's deterministic rules; refuses naming each failing rule.
fn correct(
    envelope: &mut Envelope,
    fields: &Value,
    workflows_dir: &std::path::Path,
) -> anyhow::Result<()> {
    let specs = WorkflowSpec::load_all(workflows_dir).map_err(|e| {
        CliError::Usage(format!(
            "cannot load workflows from {}: {e}",
            workflows_dir.display()
        ))
    })?;
    let spec = specs
        .into_iter()
        .find(|s| s.name == envelope.workflow)
        .ok_or_else(|| {
            CliError::Usage(format!(
                "workflow {:?} not found in {}",
                envelope.workflow,
                workflows_dir.display()
            ))
        })?;
    let policy = Policy::new(spec).map_err(|e| CliError::Usage(e.to_string()))?;
    let interpretation = envelope
        .interpretation
        .as_mut()
        .ok_or_else(|| CliError::Failed("the stored envelope has no interpretation".into()))?;
    if let (Some(contract), Some(fields)) =
        (interpretation.contract.as_object_mut(), fields.as_object())
    {
        contract.extend(fields.clone());
    }
    // The reviewer vouches for the reading, so confidence is not in doubt
    // for the check; the envelope keeps the model's own figure.
    let mut vouched = interpretation.clone();
    vouched.confidence = 1.0;
    let facts = Facts {
        source: &envelope.source,
        data: &envelope.data,
        interpretation: &vouched,
        now: Utc::now(),
        switched_off: None,
        // A person is already looking: never sampled for a spot check.
        sample: 1.0,
    };
    let evaluation = rules::evaluate(&policy, &facts);
    let failing: Vec<String> = evaluation
        .decision
        .rules
        .iter()
        // A reviewer's approval is the human check these two ask for.
        .filter(|r| !r.passed && !matches!(r.rule.as_str(), "confidence" | "irreversible"))
        .map(|r| format!("{} ({})", r.rule, r.detail))
        .collect();
    if !failing.is_empty() {
        return Err(CliError::Failed(format!(
            "the corrected request breaks the gate's rules: {}; nothing was decided",
            failing.join("; ")
        ))
        .into());
    }
    envelope.decision = Some(evaluation.decision);
    Ok(())
}
