//! What every handler shares.

use std::sync::Arc;

use sluice_bus::Bus;
use sluice_ledger::LedgerOptions;
use sluice_ops::Catalog;
use sluice_runtime::rate_limit::RateLimiter;

use crate::replays::Replays;
use crate::session::Sessions;

/// The console's shared state.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Signed-in operators.
    pub sessions: Sessions,
    /// How to reach the ledger (the token comes from each operator).
    pub ledger: LedgerOptions,
    /// The installation's NATS, where approvals resume executions.
    pub bus: Bus,
    /// The declared workflows: the approve form's fields and the rules a
    /// correction is checked by.
    pub catalog: Arc<Catalog>,
    /// Dead-letter replays running in the background, and the last ones run.
    pub replays: Replays,
    /// Failed sign-ins per client address.
    pub failed_sign_ins: Arc<RateLimiter>,
    /// Whether cookies are marked `Secure`.
    pub secure_cookie: bool,
}
