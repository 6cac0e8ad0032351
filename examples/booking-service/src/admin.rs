//! Runtime switches: faults and the honouring of idempotency keys.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use crate::{AppState, Faults};

/// Whether keys are honoured.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Honour {
    honour: bool,
}

pub(crate) async fn get_faults(State(state): State<AppState>) -> Json<Faults> {
    Json(state.faults.get())
}

/// Replaces every endpoint's faults; returns what is now in force.
pub(crate) async fn set_faults(
    State(state): State<AppState>,
    Json(faults): Json<Faults>,
) -> Json<Faults> {
    tracing::info!(?faults, "faults set");
    state.faults.set(faults);
    Json(state.faults.get())
}

pub(crate) async fn get_idempotency(State(state): State<AppState>) -> Json<Honour> {
    Json(Honour {
        honour: state.honours_keys(),
    })
}

pub(crate) async fn set_idempotency(
    State(state): State<AppState>,
    Json(h): Json<Honour>,
) -> Json<Honour> {
    tracing::info!(honour = h.honour, "idempotency keys honoured");
    state.honour.store(h.honour, Ordering::SeqCst);
    Json(h)
}
