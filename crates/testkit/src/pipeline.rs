//! Helpers for tests of one pipeline stage: put an execution where the stage
//! expects it, and look at what the stage recorded and published.

use std::time::Duration;

use async_nats::jetstream::message::StreamMessage;
use sluice_core::pipeline::Interpretation;
use sluice_core::subjects::StreamKind;
use sluice_core::{Envelope, Stage, State};
use sluice_ledger::{JournalEntry, LedgerClient, Origin, Transition};

use crate::TestNats;
use crate::eventually::{check, eventually};

/// Records `envelope`'s execution from `RECEIVED` along `path` (which starts
/// with `RECEIVED`), as the earlier stages would have.
pub async fn record_path(
    ledger: &LedgerClient,
    envelope: &Envelope,
    path: &[State],
) -> anyhow::Result<()> {
    record_path_from(ledger, envelope, None, path).await
}

/// Records the moves along `path` from `from` (`None`: the execution is
/// created by the path's first state, `RECEIVED`), as other stages would.
pub async fn record_path_from(
    ledger: &LedgerClient,
    envelope: &Envelope,
    mut from: Option<State>,
    path: &[State],
) -> anyhow::Result<()> {
    for &to in path {
        let transition = Transition {
            execution_id: envelope.execution_id,
            from,
            to,
            stage: String::new(),
            generation: "0".into(),
            detail: None,
            exception_reason: None,
            final_outcome: None,
            origin: Origin {
                workflow: envelope.workflow.clone(),
                source: envelope.source.clone(),
                event_id: envelope.event_id.clone(),
                correlation_id: envelope.correlation_id.as_str().to_owned(),
            },
        };
        ledger.record_transition(&transition).await?;
        from = Some(to);
    }
    Ok(())
}

/// The execution's current state and journal.
pub async fn state_of(
    ledger: &LedgerClient,
    envelope: &Envelope,
) -> anyhow::Result<(String, Vec<JournalEntry>)> {
    let (execution, journal) = ledger.get_execution(envelope.execution_id).await?;
    Ok((execution.state, journal))
}

/// Waits up to `timeout` until the execution is in `state`; returns its journal.
pub async fn wait_for_state(
    ledger: &LedgerClient,
    envelope: &Envelope,
    state: State,
    timeout: Duration,
) -> anyhow::Result<Vec<JournalEntry>> {
    eventually(&format!("execution in {state}"), timeout, || async {
        let (now, journal) = state_of(ledger, envelope).await?;
        check(now == state.as_str(), || format!("in {now}"))?;
        Ok(journal)
    })
    .await
}

/// Every message stored under `subject` in the stream of `kind` (limits
/// retention keeps acknowledged messages, so this sees everything published).
pub async fn stored(
    nats: &TestNats,
    kind: StreamKind,
    subject: &str,
) -> anyhow::Result<Vec<StreamMessage>> {
    let mut stream = nats
        .jetstream
        .get_stream(nats.subjects.stream(kind))
        .await?;
    let state = stream.info().await?.state.clone();
    let mut out = Vec::new();
    if state.messages == 0 {
        return Ok(out);
    }
    for seq in state.first_sequence..=state.last_sequence {
        if let Ok(message) = stream.get_raw_message(seq).await
            && message.subject.as_str() == subject
        {
            out.push(message);
        }
    }
    Ok(out)
}

/// The envelopes published to `stage` of `workflow`.
pub async fn stage_envelopes(
    nats: &TestNats,
    stage: Stage,
    workflow: &str,
) -> anyhow::Result<Vec<Envelope>> {
    let subject = nats.subjects.stage(stage, workflow)?;
    stored(nats, StreamKind::Pipeline, &subject)
        .await?
        .iter()
        .map(|m| Ok(Envelope::decode(&m.payload)?))
        .collect()
}

/// The announcements of `state` for `workflow`, as JSON.
pub async fn events(
    nats: &TestNats,
    state: State,
    workflow: &str,
) -> anyhow::Result<Vec<serde_json::Value>> {
    named_events(nats, &state.as_str().to_ascii_lowercase(), workflow).await
}

/// The announcements named `name` (`review_overdue`…) for `workflow`.
pub async fn named_events(
    nats: &TestNats,
    name: &str,
    workflow: &str,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let subject = nats.subjects.event_named(name, workflow)?;
    stored(nats, StreamKind::Events, &subject)
        .await?
        .iter()
        .map(|m| Ok(serde_json::from_slice(&m.payload)?))
        .collect()
}

/// A validated reading of `contract` as the deterministic extractor would
/// record it, with overall `confidence`, proposing `action`; no per-field
/// confidence, no usage. Set other fields on the result where a test needs
/// them.
pub fn interpretation(
    contract: serde_json::Value,
    confidence: f64,
    action: &str,
) -> Interpretation {
    Interpretation {
        contract,
        confidence,
        field_confidence: Default::default(),
        proposed_action: Some(action.to_owned()),
        backend: "rules".into(),
        model: None,
        prompt_version: "v1".into(),
        prompt_sha256: "0".repeat(64),
        usage: None,
        latency_ms: 1,
        fallback_reason: None,
        carried_over: Vec::new(),
        schema_failures: Vec::new(),
        context: Vec::new(),
    }
}
