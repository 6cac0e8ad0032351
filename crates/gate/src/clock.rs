//! An injectable clock, so that "date in the future" is testable.

use std::sync::Arc;

use chrono::{DateTime, Utc};

/// Where the gate reads "now" from.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(Utc::now))
    }

    /// A clock stopped at `at` (tests, evals).
    pub fn frozen(at: DateTime<Utc>) -> Self {
        Self(Arc::new(move || at))
    }

    /// The current instant.
    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}
