//! `sluice dlq replay`: republishes dead letters to their original subject.
//!
//! Each entry goes through the ledger's two phases: `begin_replay` reserves
//! the generation `replay:<n>` for this batch (the same batch gets the same
//! `n` back), the original payload and headers are published with
//! `Nats-Msg-Id = <execution>:<stage>:replay:<n>`, and `complete_replay`
//! records the outcome. Resuming an interrupted batch therefore skips what
//! was published. An entry caught mid-way (begun, outcome not recorded) may
//! or may not have gone out: the broker drops a re-send only inside its
//! dedupe window, so the resumed run first looks for its own copy in the
//! stream (from the moment the batch began the entry) and records that
//! instead of sending again.

use std::io::Write;
use std::time::Duration;

use async_nats::HeaderMap;
use serde_json::{Value, json};
use sluice_core::{ExecutionId, State, headers};
use sluice_ledger::{
    BeginReplay, DeadLetter, LedgerClient, ReplayOutcome, ReplayTicket, Transition,
    replay_generation,
};

use crate::CliConfig;
use crate::error::CliError;

/// What to replay and how.
pub(super) struct Plan {
    /// Why (kept in the audit trail).
    pub reason: String,
    /// The batch id (resumable).
    pub batch: String,
    /// Refuse entries replayed this many times (0: the ledger's default).
    pub max_replays: u32,
    /// At most this many publishes per second.
    pub rps: Option<f64>,
}

/// The `Nats-Msg-Id` of generation `generation` of an entry.
fn msg_id(d: &DeadLetter, generation: &str) -> String {
    // An entry with no execution (an undecodable message) is named by its id.
    let execution = d
        .execution_id
        .map_or_else(|| format!("dlq-{}", d.id), |id| id.to_string());
    format!("{execution}:{}:{generation}", d.stage)
}

/// Lists what a replay would send; changes nothing.
pub(super) fn dry_run(
    entries: &[DeadLetter],
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let planned: Vec<(i64, String, String)> = entries
        .iter()
        .map(|d| {
            let id = msg_id(d, &replay_generation(d.replay_count + 1));
            (d.id, d.subject.clone(), id)
        })
        .collect();
    if json {
        let rows: Vec<Value> = planned
            .iter()
            .map(|(id, subject, msg)| json!({ "id": id, "subject": subject, "msg_id": msg }))
            .collect();
        writeln!(out, "{}", json!({ "dry_run": true, "would_replay": rows }))?;
        return Ok(());
    }
    for (id, subject, msg) in &planned {
        writeln!(out, "would replay {id} to {subject} as {msg}")?;
    }
    writeln!(out, "{} entries; nothing sent", planned.len())?;
    Ok(())
}

/// Replays `entries` in order; stops at the first failure (the batch can be
/// resumed).
pub(super) async fn replay(
    ledger: &LedgerClient,
    config: &CliConfig,
    entries: &[DeadLetter],
    plan: &Plan,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let fail = |e| CliError::from_ledger(&config.ledger_url, e);
    let jetstream = async_nats::jetstream::new(config.connect().await?);
    let pause = plan
        .rps
        .filter(|r| *r > 0.0)
        .map(|r| Duration::from_secs_f64(1.0 / r));
    if !json {
        writeln!(
            out,
            "batch {} (resume with --batch {})",
            plan.batch, plan.batch
        )?;
    }
    let mut results = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if let (Some(pause), true) = (pause, i > 0) {
            tokio::time::sleep(pause).await;
        }
        let begin = BeginReplay {
            id: entry.id,
            reason: plan.reason.clone(),
            batch_id: plan.batch.clone(),
            max_replays: plan.max_replays,
        };
        let ticket = ledger.begin_replay(&begin).await.map_err(fail)?;
        let label = ticket.generation_label();
        let msg = msg_id(&ticket.dead_letter, &label);
        if ticket.outcome == Some(ReplayOutcome::Published) {
            results.push(json!({ "id": entry.id, "msg_id": msg, "result": "skipped" }));
            if !json {
                writeln!(
                    out,
                    "{}: already published in this batch as {msg}; skipped",
                    entry.id
                )?;
            }
            continue;
        }
        if ticket.resumed {
            let found =
                sluice_bus::find_by_msg_id(&jetstream, &entry.subject, &msg, ticket.begun_at)
                    .await
                    .map_err(|e| {
                        CliError::Failed(format!("{}: looking for an earlier copy: {e}", entry.id))
                    })?;
            if let Some(sequence) = found {
                let note = format!("{msg} (found at sequence {sequence})");
                ledger
                    .complete_replay(entry.id, &plan.batch, ReplayOutcome::Published, &note)
                    .await
                    .map_err(fail)?;
                let moved = mark_replayed(ledger, &ticket, &label).await;
                results.push(json!({ "id": entry.id, "msg_id": msg, "result": "found",
                                     "sequence": sequence, "execution_replayed": moved }));
                if !json {
                    writeln!(
                        out,
                        "{}: already sent as {msg} (sequence {sequence}); recorded, not resent",
                        entry.id
                    )?;
                }
                continue;
            }
        }
        if let Err(e) = publish(&jetstream, &ticket, &label, &msg).await {
            let why = format!("publish failed: {e}");
            ledger
                .complete_replay(entry.id, &plan.batch, ReplayOutcome::Failed, &why)
                .await
                .map_err(fail)?;
            return Err(CliError::Failed(format!(
                "{}: {why}; resume with --batch {}",
                entry.id, plan.batch
            ))
            .into());
        }
        let moved = mark_replayed(ledger, &ticket, &label).await;
        ledger
            .complete_replay(entry.id, &plan.batch, ReplayOutcome::Published, &msg)
            .await
            .map_err(fail)?;
        results.push(
            json!({ "id": entry.id, "msg_id": msg, "result": "published",
                             "execution_replayed": moved }),
        );
        if !json {
            let note = if moved {
                ""
            } else {
                " (execution not moved to REPLAYED)"
            };
            writeln!(
                out,
                "{}: published to {} as {msg}{note}",
                entry.id, entry.subject
            )?;
        }
    }
    if json {
        writeln!(
            out,
            "{}",
            json!({ "batch": plan.batch, "replayed": results })
        )?;
    }
    Ok(())
}

/// Publishes the original message under the replay generation and waits for
/// the broker's acknowledgement.
async fn publish(
    jetstream: &async_nats::jetstream::Context,
    ticket: &ReplayTicket,
    label: &str,
    msg_id: &str,
) -> anyhow::Result<()> {
    let d = &ticket.dead_letter;
    let mut map = HeaderMap::new();
    for (name, values) in &d.headers {
        // The old id and generation would make the broker drop the copy.
        if name.eq_ignore_ascii_case(headers::MSG_ID)
            || name.eq_ignore_ascii_case(headers::GENERATION)
        {
            continue;
        }
        for value in values {
            map.append(name.as_str(), value.as_str());
        }
    }
    map.insert(headers::MSG_ID, msg_id);
    map.insert(headers::GENERATION, label);
    jetstream
        .publish_with_headers(d.subject.clone(), map, d.payload.clone().into())
        .await?
        .await?;
    Ok(())
}

/// Records DEAD_LETTERED → REPLAYED when the ledger allows it; false when it
/// refuses (the execution is elsewhere, or there is none) — the replayed
/// message is still processed by its stage.
async fn mark_replayed(ledger: &LedgerClient, ticket: &ReplayTicket, label: &str) -> bool {
    let Some(id) = ticket.dead_letter.execution_id else {
        return false;
    };
    let transition = Transition {
        execution_id: ExecutionId::from_uuid(id),
        from: Some(State::DeadLettered),
        to: State::Replayed,
        stage: ticket.dead_letter.stage.clone(),
        generation: label.to_owned(),
        detail: Some(json!({ "dead_letter": ticket.dead_letter.id })),
        exception_reason: None,
        final_outcome: None,
        origin: Default::default(),
    };
    matches!(ledger.record_transition(&transition).await, Ok(o) if o.applied || o.state == State::Replayed)
}
