//! Fault injection, per endpoint, from config or at runtime.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Faults of one endpoint. Counters count down as requests consume them, in
/// this order: `fail_next`, `hang_next`, `drop_response_next`, `alter_next`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointFaults {
    /// Added before every request is processed, in milliseconds.
    pub latency_ms: u64,
    /// The next N requests fail with `fail_status` without any effect.
    pub fail_next: u32,
    /// The status of injected failures (503 when 0).
    pub fail_status: u16,
    /// The next N requests never get an answer and have no effect (a timeout
    /// for the caller).
    pub hang_next: u32,
    /// The next N requests are applied, then never answered: the caller times
    /// out although the effect happened (the ambiguous case).
    pub drop_response_next: u32,
    /// The next N bookings are stored with one guest more than asked while
    /// the answer repeats the request: a target that silently changes what
    /// it was given, which only reading the booking back reveals.
    pub alter_next: u32,
}

/// Faults of every endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// `POST /bookings`.
    pub bookings: EndpointFaults,
    /// `POST /v1/messages`.
    pub messages: EndpointFaults,
    /// `GET /availability`.
    pub availability: EndpointFaults,
}

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Process normally.
    Normal,
    /// Answer this status, no effect.
    Fail(u16),
    /// Never answer, no effect.
    Hang,
    /// Apply, then never answer.
    ApplyThenDrop,
    /// Apply something other than asked, answer as if not.
    Alter,
}

/// Which endpoint a request is for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Endpoint {
    Bookings,
    Messages,
    Availability,
}

/// The live fault settings.
#[derive(Debug, Clone)]
pub(crate) struct FaultState(Arc<Mutex<Faults>>);

impl FaultState {
    pub(crate) fn new(faults: Faults) -> Self {
        Self(Arc::new(Mutex::new(faults)))
    }

    pub(crate) fn get(&self) -> Faults {
        self.0.lock().map(|f| f.clone()).unwrap_or_default()
    }

    pub(crate) fn set(&self, faults: Faults) {
        if let Ok(mut f) = self.0.lock() {
            *f = faults;
        }
    }

    /// Consumes one fault of `endpoint`: the added latency and the plan.
    pub(crate) fn take(&self, endpoint: Endpoint) -> (Duration, Plan) {
        let Ok(mut all) = self.0.lock() else {
            return (Duration::ZERO, Plan::Normal);
        };
        let f = match endpoint {
            Endpoint::Bookings => &mut all.bookings,
            Endpoint::Messages => &mut all.messages,
            Endpoint::Availability => &mut all.availability,
        };
        let latency = Duration::from_millis(f.latency_ms);
        let plan = if f.fail_next > 0 {
            f.fail_next -= 1;
            Plan::Fail(if f.fail_status == 0 {
                503
            } else {
                f.fail_status
            })
        } else if f.hang_next > 0 {
            f.hang_next -= 1;
            Plan::Hang
        } else if f.drop_response_next > 0 {
            f.drop_response_next -= 1;
            Plan::ApplyThenDrop
        } else if f.alter_next > 0 {
            f.alter_next -= 1;
            Plan::Alter
        } else {
            Plan::Normal
        };
        (latency, plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_count_down_in_order() {
        let state = FaultState::new(Faults {
            bookings: EndpointFaults {
                fail_next: 1,
                hang_next: 1,
                drop_response_next: 1,
                latency_ms: 5,
                ..EndpointFaults::default()
            },
            ..Faults::default()
        });
        let plans: Vec<Plan> = (0..4).map(|_| state.take(Endpoint::Bookings).1).collect();
        assert_eq!(
            plans,
            [
                Plan::Fail(503),
                Plan::Hang,
                Plan::ApplyThenDrop,
                Plan::Normal
            ]
        );
        assert_eq!(state.take(Endpoint::Messages).1, Plan::Normal);
        assert_eq!(state.take(Endpoint::Bookings).0, Duration::from_millis(5));
    }
}
