//! `sluice executions revert`: undoes a completed execution's effects.
//!
//! The ledger records the request first (`COMPLETED → COMPENSATING`, with
//! who, why and the effects to undo, audited as `execution.revert`); the
//! command then hands the execution to the executor, which runs each
//! action's declared compensation under `<key>:compensate` (exactly once,
//! through the ledger), and waits for the outcome. A repeat while it is
//! compensating hands it over again, so a run cut off between the two steps
//! is finished by running it again; a repeat once it is compensated changes
//! nothing.

use std::io::Write;
use std::time::Duration;

use clap::Args;
use serde_json::{Value, json};
use sluice_bus::Bus;
use sluice_core::{CorrelationId, Envelope, ExecutionId, Stage, State};
use sluice_ledger::{JournalEntry, LedgerClient, REVERT_GENERATION, Revert};

use crate::CliConfig;
use crate::error::CliError;

/// Arguments of `sluice executions revert`.
#[derive(Debug, Args)]
pub struct RevertArgs {
    /// The execution id (a UUID).
    pub id: ExecutionId,
    /// Why (required; journalled with the compensation and audited).
    #[arg(long)]
    pub reason: String,
    /// How long to wait for the executor's outcome; `0s` hands the
    /// execution over and returns.
    #[arg(long, default_value = "60s", value_parser = parse_wait)]
    pub wait: Duration,
}

fn parse_wait(value: &str) -> Result<Duration, String> {
    sluice_runtime::config::parse_duration(value).map_err(|e| e.to_string())
}

/// How often the outcome is read while waiting.
const POLL: Duration = Duration::from_millis(250);

/// Runs `sluice executions revert`.
pub async fn run(
    ledger: &LedgerClient,
    config: &CliConfig,
    args: RevertArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    crate::error::require_reason(&args.reason)?;
    let fail = |e| match CliError::from_ledger(&config.ledger_url, e) {
        CliError::NotFound(_) => CliError::NotFound(format!("no execution {}", args.id)),
        other => other,
    };
    // Connect before asking: an unreachable broker then leaves the
    // execution COMPLETED instead of COMPENSATING and not handed over.
    let bus = config.bus().await?;
    let revert = ledger
        .revert_execution(args.id, &args.reason)
        .await
        .map_err(fail)?;
    if revert.state == State::Compensating {
        hand_over(&bus, args.id, &revert).await?;
    }
    let (state, journal) = wait(ledger, args.id, &revert, args.wait)
        .await
        .map_err(fail)?;
    let compensated = last_detail(&journal, State::Compensated);
    if json {
        let answer = json!({
            "execution_id": args.id.to_string(),
            "started": revert.started,
            "state": state.as_str(),
            "requested_by": revert.requested_by,
            "reason": revert.reason,
            "requested_at": revert.requested_at,
            "undo": revert.undo,
            "compensated": compensated.and_then(|d| d.get("compensated")),
        });
        writeln!(out, "{answer}")?;
    } else {
        summary(out, args.id, &revert, state, compensated)?;
    }
    match state {
        State::Compensated => Ok(()),
        State::Compensating if args.wait.is_zero() => Ok(()),
        State::Compensating => Err(CliError::Failed(format!(
            "execution {} is still compensating after {:?}; follow it with `sluice executions \
             show {}`, or run the revert again to hand it over again",
            args.id, args.wait, args.id
        ))
        .into()),
        other => {
            let why = last_detail(&journal, other)
                .and_then(|d| d.get("reason").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_default();
            Err(CliError::Failed(format!(
                "the compensation of execution {} stopped in {other}: {why}; see `sluice review list`",
                args.id
            ))
            .into())
        }
    }
}

/// Publishes a decision-less envelope for the execution to the execute
/// stage: the executor reads what to undo from the ledger's journal.
async fn hand_over(bus: &Bus, id: ExecutionId, revert: &Revert) -> anyhow::Result<()> {
    let envelope = Envelope::new(
        revert.source.clone(),
        revert.event_id.clone(),
        revert.workflow.clone(),
        CorrelationId::from_upstream(Some(&revert.correlation_id)),
        revert.received_at,
        Value::Null,
    );
    if envelope.execution_id != id {
        return Err(CliError::Failed(format!(
            "execution {id} does not derive from its recorded source and event id"
        ))
        .into());
    }
    bus.publisher()
        .envelope_to_stage(&envelope, Stage::Execute, REVERT_GENERATION, None)
        .await
        .map_err(|e| {
            CliError::Unreachable(format!(
                "the revert is recorded, but handing it to the executor failed (run the revert \
                 again to hand it over): {e}"
            ))
        })?;
    Ok(())
}

/// Reads the execution until it leaves `COMPENSATING` or `limit` passes.
async fn wait(
    ledger: &LedgerClient,
    id: ExecutionId,
    revert: &Revert,
    limit: Duration,
) -> Result<(State, Vec<JournalEntry>), sluice_ledger::Error> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let (execution, journal) = ledger.get_execution(id).await?;
        let state = execution.state.parse().unwrap_or(revert.state);
        if state != State::Compensating || tokio::time::Instant::now() >= deadline {
            return Ok((state, journal));
        }
        tokio::time::sleep(POLL).await;
    }
}

fn last_detail(journal: &[JournalEntry], to: State) -> Option<&Value> {
    journal
        .iter()
        .rev()
        .find(|e| e.to_state == to.as_str())
        .and_then(|e| e.detail.as_ref())
}

fn summary(
    out: &mut impl Write,
    id: ExecutionId,
    revert: &Revert,
    state: State,
    compensated: Option<&Value>,
) -> std::io::Result<()> {
    let asked = format!(
        "asked by {} at {} ({})",
        revert.requested_by, revert.requested_at, revert.reason
    );
    match (revert.started, state) {
        (true, _) => writeln!(out, "revert of execution {id} recorded, {asked}")?,
        (false, State::Compensated) if revert.state == State::Compensated => {
            writeln!(
                out,
                "execution {id} was already reverted, {asked}; nothing changed"
            )?;
        }
        (false, _) => writeln!(out, "execution {id} was already being reverted, {asked}")?,
    }
    for undo in &revert.undo {
        writeln!(out, "  undo {} (key {})", undo.action, undo.key)?;
    }
    let restored = compensated
        .and_then(|d| d.get("compensated"))
        .and_then(Value::as_array);
    match state {
        State::Compensated => {
            writeln!(out, "execution {id} is COMPENSATED")?;
            for r in restored.into_iter().flatten() {
                let action = r.get("action").and_then(Value::as_str).unwrap_or("?");
                let again = r.get("prevented_duplicate").and_then(Value::as_bool) == Some(true);
                let note = if again { " (already done before)" } else { "" };
                match r.get("restored").filter(|v| !v.is_null()) {
                    Some(values) => writeln!(out, "  {action}: restored {values}{note}")?,
                    None => writeln!(out, "  {action}: its row removed{note}")?,
                }
            }
        }
        other => writeln!(out, "execution {id} is {other}")?,
    }
    Ok(())
}
