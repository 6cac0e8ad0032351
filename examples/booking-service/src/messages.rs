//! Outbound messages: stands in for the WhatsApp API.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::AppState;
use crate::bookings::{error, faults, key_of, never_answer};
use crate::faults::{Endpoint, Plan};

#[derive(Debug, Deserialize)]
pub(crate) struct Outbound {
    to: String,
    text: String,
    #[serde(default)]
    execution_id: Option<String>,
}

/// `(message_id, idempotency_key, to, text, execution_id)`.
type MessageRow = (Uuid, Option<String>, String, String, Option<String>);

#[derive(Debug, Deserialize)]
pub(crate) struct Filter {
    execution_id: Option<String>,
}

/// `POST /v1/messages` → 202 with the message id. Keys are recorded, never
/// honoured: the notifier's own ledger key is what prevents duplicates.
pub(crate) async fn send(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let msg: Outbound = match serde_json::from_value(body) {
        Ok(msg) => msg,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let plan = match faults(&state, Endpoint::Messages).await {
        Ok(plan) => plan,
        Err(response) => return response,
    };
    let id = Uuid::new_v4();
    let stored = sqlx::query(
        "INSERT INTO messages (message_id, idempotency_key, recipient, body, execution_id)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(key_of(&headers))
    .bind(&msg.to)
    .bind(&msg.text)
    .bind(&msg.execution_id)
    .execute(&state.pool)
    .await;
    if plan == Plan::ApplyThenDrop {
        return never_answer(&state).await;
    }
    match stored {
        Ok(_) => (
            StatusCode::ACCEPTED,
            Json(json!({ "message_id": id.to_string(), "status": "queued" })),
        )
            .into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "message insert failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "database error")
        }
    }
}

/// `GET /v1/messages[?execution_id=…]`, oldest first.
pub(crate) async fn list(State(state): State<AppState>, Query(filter): Query<Filter>) -> Response {
    let rows: Result<Vec<MessageRow>, _> = sqlx::query_as(
        "SELECT message_id, idempotency_key, recipient, body, execution_id FROM messages
             WHERE $1::text IS NULL OR execution_id = $1 ORDER BY created_at",
    )
    .bind(&filter.execution_id)
    .fetch_all(&state.pool)
    .await;
    match rows {
        Ok(rows) => {
            let messages: Vec<Value> = rows
                .into_iter()
                .map(|(id, key, to, text, execution_id)| {
                    json!({ "message_id": id.to_string(), "idempotency_key": key, "to": to,
                            "text": text, "execution_id": execution_id })
                })
                .collect();
            Json(json!({ "messages": messages })).into_response()
        }
        Err(err) => {
            tracing::warn!(error = %err, "listing messages failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "database error")
        }
    }
}
