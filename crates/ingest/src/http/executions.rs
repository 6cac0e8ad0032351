//! `GET /v1/executions/{id}`: an execution's state, outcome and journal.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sluice_core::ExecutionId;
use sluice_ledger::{Execution, JournalEntry};

use super::{ApiError, AppState};

/// The answer of `GET /v1/executions/{id}`.
#[derive(Debug, Clone, Serialize)]
pub struct ExecutionView {
    execution_id: String,
    workflow: String,
    source: String,
    event_id: String,
    correlation_id: String,
    state: String,
    outcome: Option<String>,
    exception_reason: Option<String>,
    retry_count: i32,
    received_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    journal: Vec<JournalView>,
}

/// One journal entry as served.
#[derive(Debug, Clone, Serialize)]
pub struct JournalView {
    seq: i64,
    from: Option<String>,
    to: String,
    at: DateTime<Utc>,
    stage: String,
    generation: String,
    actor: String,
    detail: Option<serde_json::Value>,
}

pub(super) async fn get_execution(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ExecutionView>, ApiError> {
    let id: ExecutionId = id.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_execution_id",
            "an execution id is a UUID",
        )
    })?;
    match state.0.acceptor.ledger().get_execution(id).await {
        Ok((execution, journal)) => Ok(Json(view(execution, journal))),
        Err(sluice_ledger::Error::Status(s)) if s.code() == tonic::Code::NotFound => {
            Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_execution",
                format!("no execution {id}"),
            ))
        }
        Err(err) => {
            tracing::warn!(error = %err, execution_id = %id, "ledger read failed");
            Err(ApiError::unavailable(
                "the ledger",
                state.0.retry_after_secs,
            ))
        }
    }
}

fn view(e: Execution, journal: Vec<JournalEntry>) -> ExecutionView {
    ExecutionView {
        execution_id: e.execution_id.to_string(),
        workflow: e.workflow,
        source: e.source,
        event_id: e.event_id,
        correlation_id: e.correlation_id,
        state: e.state,
        outcome: e.final_outcome,
        exception_reason: e.exception_reason,
        retry_count: e.retry_count,
        received_at: e.received_at,
        updated_at: e.updated_at,
        journal: journal
            .into_iter()
            .map(|j| JournalView {
                seq: j.seq,
                from: j.from_state,
                to: j.to_state,
                at: j.at,
                stage: j.stage,
                generation: j.generation,
                actor: j.actor,
                detail: j.detail,
            })
            .collect(),
    }
}
