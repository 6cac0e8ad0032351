//! `POST /bookings`, the probe by key, and the counts.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::AppState;
use crate::faults::{Endpoint, Plan};

/// The header a caller's key arrives in.
pub(crate) const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// A booking request.
#[derive(Debug, Deserialize)]
struct NewBooking {
    name: String,
    party_size: i32,
    date: String,
    time: String,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    notes: Option<String>,
}

impl NewBooking {
    fn parse(body: &Value) -> Result<Self, String> {
        let booking: Self = serde_json::from_value(body.clone()).map_err(|e| e.to_string())?;
        if booking.name.trim().is_empty() {
            return Err("name must not be empty".into());
        }
        if !(1..=100).contains(&booking.party_size) {
            return Err("party_size must be between 1 and 100".into());
        }
        if booking.date.trim().is_empty() || booking.time.trim().is_empty() {
            return Err("date and time are required".into());
        }
        Ok(booking)
    }
}

pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// Applies the endpoint's latency and fault; `Err` is the response to send
/// instead of processing (a failure, or a hang that ended at shutdown).
pub(crate) async fn faults(state: &AppState, endpoint: Endpoint) -> Result<Plan, Response> {
    let (latency, plan) = state.faults.take(endpoint);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match plan {
        Plan::Fail(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            Err(error(status, "injected failure"))
        }
        Plan::Hang => Err(never_answer(state).await),
        Plan::Normal | Plan::ApplyThenDrop | Plan::Alter => Ok(plan),
    }
}

/// Holds the request open until the service shuts down: the caller sees a
/// timeout, never an answer.
pub(crate) async fn never_answer(state: &AppState) -> Response {
    state.shutdown.cancelled().await;
    error(StatusCode::SERVICE_UNAVAILABLE, "shutting down")
}

pub(crate) fn key_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .filter(|k| !k.is_empty())
}

pub(crate) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let booking = match NewBooking::parse(&body) {
        Ok(booking) => booking,
        Err(reason) => return error(StatusCode::BAD_REQUEST, reason),
    };
    let plan = match faults(&state, Endpoint::Bookings).await {
        Ok(plan) => plan,
        Err(response) => return response,
    };
    let key = key_of(&headers);
    let honour = key.is_some() && state.honours_keys();
    // On its own task: a caller that gives up must not cancel the write
    // half-way (a dropped sqlx `begin()` can leave the pooled connection in
    // an untracked transaction whose later writes are lost), and the effect
    // log has to be the truth whatever the caller saw.
    let altered = plan == Plan::Alter;
    let write = {
        let (state, key) = (state.clone(), key.clone());
        tokio::spawn(async move {
            insert(&state, &booking, &body, key.as_deref(), honour, altered).await
        })
    };
    let created = write
        .await
        .unwrap_or_else(|e| Err(sqlx::Error::Protocol(format!("booking write: {e}"))));
    if plan == Plan::ApplyThenDrop {
        tracing::info!("fault: booking applied, dropping the response");
        return never_answer(&state).await;
    }
    match created {
        Ok(Created::New(response)) => (StatusCode::CREATED, Json(response)).into_response(),
        Ok(Created::Replayed(response)) => (
            StatusCode::CREATED,
            [("idempotent-replayed", "true")],
            Json(response),
        )
            .into_response(),
        Ok(Created::KeyReused) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency key reused with a different request",
        ),
        Err(err) => {
            tracing::warn!(error = %err, "booking insert failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "database error")
        }
    }
}

enum Created {
    New(Value),
    Replayed(Value),
    KeyReused,
}

/// Inserts the booking; when honouring `key`, a key seen before returns the
/// original answer instead (concurrent requests serialise on the key row).
/// `altered` (a fault) stores one guest more than asked and answers as if
/// it had not.
async fn insert(
    state: &AppState,
    b: &NewBooking,
    request: &Value,
    key: Option<&str>,
    honour: bool,
    altered: bool,
) -> Result<Created, sqlx::Error> {
    let id = Uuid::new_v4();
    let view = |party_size: i32| {
        json!({
            "booking_id": id.to_string(),
            "status": "confirmed",
            "name": b.name,
            "party_size": party_size,
            "date": b.date,
            "time": b.time,
            "phone": b.phone,
            "notes": b.notes,
        })
    };
    let stored_size = if altered {
        b.party_size + 1
    } else {
        b.party_size
    };
    // What the caller is told; the row and its `response` hold the truth.
    let answer = view(b.party_size);
    let response = view(stored_size);
    let mut tx = state.pool.begin().await?;
    sqlx::query(
        "INSERT INTO bookings (booking_id, idempotency_key, name, party_size, date, time,
                               phone, notes, request, response)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(key)
    .bind(&b.name)
    .bind(stored_size)
    .bind(&b.date)
    .bind(&b.time)
    .bind(&b.phone)
    .bind(&b.notes)
    .bind(request)
    .bind(&response)
    .execute(&mut *tx)
    .await?;
    if let (true, Some(key)) = (honour, key) {
        let claimed = sqlx::query(
            "INSERT INTO honoured_keys (idempotency_key, booking_id) VALUES ($1, $2)
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(key)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            tx.rollback().await?;
            return replay(state, key, request).await;
        }
    }
    tx.commit().await?;
    Ok(Created::New(answer))
}

async fn replay(state: &AppState, key: &str, request: &Value) -> Result<Created, sqlx::Error> {
    let (original, response): (Value, Value) = sqlx::query_as(
        "SELECT b.request, b.response FROM honoured_keys h
         JOIN bookings b ON b.booking_id = h.booking_id WHERE h.idempotency_key = $1",
    )
    .bind(key)
    .fetch_one(&state.pool)
    .await?;
    Ok(if &original == request {
        Created::Replayed(response)
    } else {
        Created::KeyReused
    })
}

/// `GET /bookings/{id}`: the booking as stored (what verification reads).
pub(crate) async fn by_id(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<Uuid>() else {
        return error(StatusCode::NOT_FOUND, "no such booking");
    };
    let found: Result<Option<(Value,)>, _> =
        sqlx::query_as("SELECT response FROM bookings WHERE booking_id = $1")
            .bind(id)
            .fetch_optional(&state.pool)
            .await;
    match found {
        Ok(Some((booking,))) => Json(booking).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "no such booking"),
        Err(err) => {
            tracing::warn!(error = %err, "reading a booking failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "database error")
        }
    }
}

/// The status probe: the (first) booking created with `key`.
pub(crate) async fn by_key(State(state): State<AppState>, Path(key): Path<String>) -> Response {
    let found: Result<Option<(Value, i64)>, _> = sqlx::query_as(
        "SELECT response, count(*) OVER () FROM bookings WHERE idempotency_key = $1
         ORDER BY created_at LIMIT 1",
    )
    .bind(&key)
    .fetch_optional(&state.pool)
    .await;
    match found {
        Ok(Some((mut response, count))) => {
            if let Some(map) = response.as_object_mut() {
                map.insert("bookings_with_key".into(), json!(count));
            }
            Json(response).into_response()
        }
        Ok(None) => error(StatusCode::NOT_FOUND, "no booking with this key"),
        Err(err) => {
            tracing::warn!(error = %err, "probe failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "database error")
        }
    }
}

/// Bookings per idempotency key (`""` for requests without one) and in total.
pub(crate) async fn counts(State(state): State<AppState>) -> Response {
    let rows: Result<Vec<(String, i64)>, _> = sqlx::query_as(
        "SELECT coalesce(idempotency_key, ''), count(*) FROM bookings GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(&state.pool)
    .await;
    match rows {
        Ok(rows) => {
            let total: i64 = rows.iter().map(|(_, n)| n).sum();
            let duplicated: Vec<&String> = rows
                .iter()
                .filter(|(k, n)| !k.is_empty() && *n > 1)
                .map(|(k, _)| k)
                .collect();
            let by_key: BTreeMap<&String, i64> = rows.iter().map(|(k, n)| (k, *n)).collect();
            Json(json!({ "total": total, "by_key": by_key, "duplicated_keys": duplicated }))
                .into_response()
        }
        Err(err) => {
            tracing::warn!(error = %err, "counts failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "database error")
        }
    }
}
