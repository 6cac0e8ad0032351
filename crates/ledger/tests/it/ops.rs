//! Fixtures for the dead-letter and review tests: a ledger with one token per
//! role, dead letters to record, executions waiting for review.

use serde_json::json;
use sluice_core::{ExecutionId, FailureClass, State};
use sluice_ledger::{Headers, LedgerClient, NewDeadLetter, Origin, TokenTable, Transition};
use sluice_testkit::{TestDb, TestLedger};

pub const SERVICE: &str = "service-token-0123456789";
pub const REVIEWER: &str = "reviewer-token-0123456789";
pub const SRE: &str = "sre-token-0123456789abcd";
pub const ADMIN: &str = "admin-token-0123456789ab";

/// A ledger that knows one token per role: executor (service), alice
/// (reviewer), bob (sre), root (admin). Its own client is the service.
pub async fn secured(db: &TestDb) -> anyhow::Result<TestLedger> {
    let tokens: TokenTable = format!(
        "{SERVICE}=service:executor,{REVIEWER}=reviewer:alice,{SRE}=sre:bob,{ADMIN}=admin:root"
    )
    .parse()?;
    TestLedger::start_with(db, tokens, Some(SERVICE)).await
}

/// A dead letter of message `seq` in `SLUICE_WORK`.
pub fn dead_letter(seq: u64) -> NewDeadLetter {
    let mut headers = Headers::new();
    headers.insert("Sluice-Generation".into(), vec!["0".into()]);
    NewDeadLetter {
        stream: "SLUICE_WORK".into(),
        stream_sequence: seq,
        stage: "execute".into(),
        workflow: "reservation".into(),
        execution_id: Some(ExecutionId::derive("wa", &seq.to_string(), "reservation")),
        correlation_id: format!("corr-{seq}"),
        failure_class: FailureClass::Permanent,
        reason: "booking service answered 422: table unknown".into(),
        error_detail: Some(json!({"status": 422})),
        attempts: 1,
        first_failed_at: None,
        last_failed_at: None,
        subject: "sluice.work.execute.reservation".into(),
        headers,
        payload: br#"{"v":1}"#.to_vec(),
        dlq_stream: "SLUICE_DLQ".into(),
        dlq_sequence: seq + 1000,
    }
}

fn transition(id: ExecutionId, from: Option<State>, to: State) -> Transition {
    Transition {
        execution_id: id,
        from,
        to,
        stage: "gate".into(),
        generation: "0".into(),
        detail: None,
        exception_reason: None,
        final_outcome: None,
        origin: Origin {
            workflow: "reservation".into(),
            source: "whatsapp".into(),
            event_id: id.as_uuid().to_string(),
            correlation_id: "corr-review".into(),
        },
    }
}

/// A new execution walked to `HUMAN_REVIEW_PENDING` (through the gate) or,
/// when `needs_review`, straight to `NEEDS_REVIEW`.
pub async fn execution_in_review(
    service: &LedgerClient,
    needs_review: bool,
) -> anyhow::Result<ExecutionId> {
    let id = ExecutionId::derive("whatsapp", &uuid::Uuid::new_v4().to_string(), "reservation");
    let path: &[State] = if needs_review {
        &[State::Received, State::NeedsReview]
    } else {
        &[
            State::Received,
            State::Validated,
            State::ModelRequested,
            State::ModelCompleted,
            State::OutputValidated,
            State::GateDecided,
            State::HumanReviewPending,
        ]
    };
    let mut from = None;
    for &to in path {
        service.record_transition(&transition(id, from, to)).await?;
        from = Some(to);
    }
    Ok(id)
}
