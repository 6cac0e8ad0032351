//! The interpretation stored in the ledger under `<execution>:interpret`,
//! so a redelivery after the dedupe window, or a replay, reuses it and never
//! depends on the model answering the same way twice.

use std::time::Duration;

use chrono::Utc;
use chrono_tz::Tz;
use sluice_bus::PendingRequest;
use sluice_core::Envelope;
use sluice_core::pipeline::Interpretation;
use sluice_ledger::{BeginOutcome, BeginRequest, FailureKind};

use crate::conversation::render_key;
use crate::interpret::Reading;
use crate::prompt::sha256_hex;
use crate::stage::{Pass, retry};

/// The interpretation and whether it came from the ledger.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The validated interpretation.
    pub interpretation: Interpretation,
    /// True when the ledger already had it (nothing was asked).
    pub reused: bool,
}

/// Why the pass stops before the gate.
#[derive(Debug)]
pub enum Stop {
    /// A temporary failure: the bus redelivers.
    Retry(sluice_bus::Outcome),
    /// A person must look (reason).
    Review(String),
}

/// The ledger key of an execution's interpretation.
pub fn key(envelope: &Envelope) -> String {
    format!("{}:interpret", envelope.execution_id)
}

/// Reuses the stored interpretation, or computes and stores one.
pub(crate) async fn stored_or_compute(
    pass: &Pass<'_>,
    envelope: &Envelope,
) -> Result<Stored, Stop> {
    let key = key(envelope);
    let fingerprint = sha256_hex(envelope.data.to_string().as_bytes());
    let spec = &pass.workflow.spec.interpret;
    // Two calls (the answer and one repair) plus slack; capped by the ledger's maximum.
    let lease = Duration::from_millis(spec.timeout_ms.saturating_mul(2).saturating_add(30_000))
        .min(Duration::from_secs(3600));
    let begin = BeginRequest {
        key: key.clone(),
        fingerprint,
        owner: pass.ctx.owner.clone(),
        lease,
        execution_id: Some(envelope.execution_id),
        // Asking again has no effect on the world: an expired claim simply starts over.
        target_honours_keys: true,
        supersede_review: None,
    };
    let answer = pass
        .ctx
        .ledger
        .begin(&begin)
        .await
        .map_err(|e| Stop::Retry(retry("begin interpret key", &e)))?;
    let fencing_token = match answer {
        BeginOutcome::Started { fencing_token, .. } => fencing_token,
        BeginOutcome::Completed { result } => {
            let interpretation = result
                .and_then(|v| serde_json::from_value::<Interpretation>(v).ok())
                .ok_or_else(|| Stop::Review("the stored interpretation is unreadable".into()))?;
            close_conversation(pass, envelope, &interpretation).await?;
            return Ok(Stored {
                interpretation,
                reused: true,
            });
        }
        BeginOutcome::InProgress {
            lease_expires_at, ..
        } => {
            let wait = (lease_expires_at - Utc::now()).to_std().unwrap_or_default();
            return Err(Stop::Retry(sluice_bus::Outcome::retry_after(
                wait.max(Duration::from_secs(1)),
            )));
        }
        BeginOutcome::FailedPermanent { reason } => return Err(Stop::Review(reason)),
        BeginOutcome::Unknown { reason, .. } => return Err(Stop::Review(reason)),
        BeginOutcome::Conflict { .. } => {
            return Err(Stop::Review(
                "the event's payload differs from the one interpreted before".into(),
            ));
        }
    };
    let pending = open_conversation(pass, envelope).await?;
    let now = envelope
        .reference_time()
        .with_timezone::<Tz>(&pass.workflow.timezone);
    match pass
        .workflow
        .interpret(envelope, pending.as_ref(), now)
        .await
    {
        Reading::Interpreted(interpretation) => {
            let value =
                serde_json::to_value(&*interpretation).map_err(|e| Stop::Review(e.to_string()))?;
            pass.ctx
                .ledger
                .complete(&key, fencing_token, Some(value))
                .await
                .map_err(|e| Stop::Retry(retry("complete interpret key", &e)))?;
            crate::observe::interpreted(pass.workflow, &interpretation);
            if pending.is_some() {
                close_conversation_key(pass, envelope).await?;
            }
            Ok(Stored {
                interpretation: *interpretation,
                reused: false,
            })
        }
        Reading::NeedsReview { reason } => {
            pass.ctx
                .ledger
                .fail(&key, fencing_token, FailureKind::Permanent, &reason, None)
                .await
                .map_err(|e| Stop::Retry(retry("fail interpret key", &e)))?;
            Err(Stop::Review(reason))
        }
    }
}

/// The conversation key of `envelope`, if the workflow declares one.
fn conversation_key(pass: &Pass<'_>, envelope: &Envelope) -> Option<String> {
    let template = pass.workflow.spec.conversation_key.as_deref()?;
    let mut fields = pass
        .workflow
        .extractor
        .as_ref()
        .map(|x| x.fixed_fields(&envelope.source, &envelope.data))
        .unwrap_or_default();
    fields
        .entry("channel")
        .or_insert_with(|| envelope.source.clone().into());
    fields
        .entry("source")
        .or_insert_with(|| envelope.source.clone().into());
    render_key(template, &fields, &envelope.data)
}

async fn open_conversation(
    pass: &Pass<'_>,
    envelope: &Envelope,
) -> Result<Option<PendingRequest>, Stop> {
    let Some(conversation) = conversation_key(pass, envelope) else {
        return Ok(None);
    };
    let store = pass
        .ctx
        .bus
        .conversations()
        .await
        .map_err(|e| Stop::Retry(retry("open conversations", &e)))?;
    let pending = store
        .open(&envelope.workflow, &conversation)
        .await
        .map_err(|e| Stop::Retry(retry("read conversation", &e)))?;
    Ok(pending.filter(|p| p.execution_id != envelope.execution_id))
}

/// After a reuse: the clarification this execution answered is closed
/// (again — closing is idempotent, and a crash may have come in between).
async fn close_conversation(
    pass: &Pass<'_>,
    envelope: &Envelope,
    i: &Interpretation,
) -> Result<(), Stop> {
    if i.carried_over.is_empty() {
        return Ok(());
    }
    close_conversation_key(pass, envelope).await
}

async fn close_conversation_key(pass: &Pass<'_>, envelope: &Envelope) -> Result<(), Stop> {
    let Some(conversation) = conversation_key(pass, envelope) else {
        return Ok(());
    };
    let store = pass
        .ctx
        .bus
        .conversations()
        .await
        .map_err(|e| Stop::Retry(retry("open conversations", &e)))?;
    store
        .close(&envelope.workflow, &conversation)
        .await
        .map_err(|e| Stop::Retry(retry("close conversation", &e)))
}
