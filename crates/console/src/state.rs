//! What every handler shares.

use sluice_bus::Bus;
use sluice_ledger::LedgerOptions;

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
    /// Whether cookies are marked `Secure`.
    pub secure_cookie: bool,
}
