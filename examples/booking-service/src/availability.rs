//! `GET /availability?date=&time=&party_size=`: whether a table is free,
//! and the nearest free times on the same day when it is not.
//!
//! A slot is full when it is listed in the capacity's `full` slots, or when
//! its bookings' guests plus the party would exceed `per_slot` seats (no
//! limit when unset). Slots are every half hour from 12:00 to 23:00. The
//! endpoint takes faults like the others (`faults.availability`): latency,
//! failures and hangs, so a caller's timeout and fallback can be tested.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, NaiveTime, Timelike as _};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::AppState;
use crate::bookings::{error, faults};
use crate::faults::Endpoint;

/// How many seats each slot has.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Capacity {
    /// Seats per slot; unlimited when unset.
    pub per_slot: Option<u32>,
    /// Slots with no seat left whatever is booked (`2026-12-03T20:00`).
    pub full: Vec<String>,
}

/// The live capacity.
#[derive(Debug, Clone, Default)]
pub(crate) struct CapacityState(Arc<Mutex<Capacity>>);

impl CapacityState {
    pub(crate) fn new(capacity: Capacity) -> Self {
        Self(Arc::new(Mutex::new(capacity)))
    }

    pub(crate) fn get(&self) -> Capacity {
        self.0.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub(crate) fn set(&self, capacity: Capacity) {
        if let Ok(mut c) = self.0.lock() {
            *c = capacity;
        }
    }
}

/// The first and last slot of a day, and the step between slots.
const FIRST_SLOT: (u32, u32) = (12, 0);
const LAST_SLOT: (u32, u32) = (23, 0);
const STEP_MINUTES: u32 = 30;
/// Alternatives offered at most.
const ALTERNATIVES: usize = 3;

/// The query.
#[derive(Debug, Deserialize)]
pub(crate) struct Asked {
    date: String,
    time: String,
    party_size: u32,
}

pub(crate) async fn check(State(state): State<AppState>, Query(asked): Query<Asked>) -> Response {
    if let Err(response) = faults(&state, Endpoint::Availability).await {
        return response;
    }
    let (Ok(date), Ok(time)) = (
        NaiveDate::parse_from_str(&asked.date, "%Y-%m-%d"),
        NaiveTime::parse_from_str(&asked.time, "%H:%M"),
    ) else {
        return error(StatusCode::BAD_REQUEST, "date is YYYY-MM-DD, time HH:MM");
    };
    let capacity = state.capacity.get();
    let free = |slot: NaiveTime| fits(&state, &capacity, date, slot, asked.party_size);
    let available = match free(time).await {
        Ok(free) => free,
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    };
    let mut alternatives = Vec::new();
    if !available {
        for slot in nearest(time) {
            match free(slot).await {
                Ok(true) => alternatives.push(slot.format("%H:%M").to_string()),
                Ok(false) => {}
                Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
            }
            if alternatives.len() == ALTERNATIVES {
                break;
            }
        }
    }
    Json(json!({
        "date": asked.date,
        "time": asked.time,
        "party_size": asked.party_size,
        "available": available,
        "alternatives": alternatives,
    }))
    .into_response()
}

/// Whether `party` more guests fit in the slot.
async fn fits(
    state: &AppState,
    capacity: &Capacity,
    date: NaiveDate,
    slot: NaiveTime,
    party: u32,
) -> Result<bool, sqlx::Error> {
    let (day, at) = (
        date.format("%Y-%m-%d").to_string(),
        slot.format("%H:%M").to_string(),
    );
    if capacity.full.contains(&format!("{day}T{at}")) {
        return Ok(false);
    }
    let Some(seats) = capacity.per_slot else {
        return Ok(true);
    };
    let booked: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(party_size), 0)::int8 FROM bookings WHERE date = $1 AND time = $2",
    )
    .bind(&day)
    .bind(&at)
    .fetch_one(&state.pool)
    .await?;
    Ok(booked + i64::from(party) <= i64::from(seats))
}

/// The day's other slots, nearest first (the earlier of two equally near).
fn nearest(time: NaiveTime) -> Vec<NaiveTime> {
    let minutes = |h: u32, m: u32| h * 60 + m;
    let asked = minutes(time.hour(), time.minute());
    let mut slots: Vec<u32> = (minutes(FIRST_SLOT.0, FIRST_SLOT.1)
        ..=minutes(LAST_SLOT.0, LAST_SLOT.1))
        .step_by(STEP_MINUTES as usize)
        .filter(|m| *m != asked)
        .collect();
    slots.sort_by_key(|m| (m.abs_diff(asked), *m));
    slots
        .into_iter()
        .filter_map(|m| NaiveTime::from_hms_opt(m / 60, m % 60, 0))
        .collect()
}

pub(crate) async fn get_capacity(State(state): State<AppState>) -> Json<Capacity> {
    Json(state.capacity.get())
}

/// Replaces the capacity; returns what is now in force.
pub(crate) async fn set_capacity(
    State(state): State<AppState>,
    Json(capacity): Json<Capacity>,
) -> Json<Capacity> {
    tracing::info!(?capacity, "capacity set");
    state.capacity.set(capacity);
    Json(state.capacity.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_slots_come_first_earlier_on_a_tie() {
        let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default();
        let slots = nearest(at(20, 0));
        assert_eq!(&slots[..4], &[at(19, 30), at(20, 30), at(19, 0), at(21, 0)]);
        assert!(!slots.contains(&at(20, 0)));
        let late = nearest(at(23, 0));
        assert_eq!(late[0], at(22, 30));
    }
}
