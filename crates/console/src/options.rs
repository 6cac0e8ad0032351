//! The console's typed configuration (file < `SLUICE_*` env).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
pub use sluice_bus::NatsOptions;
pub use sluice_ledger::LedgerOptions;

/// Everything the review console needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    /// Where the console's pages are served.
    pub listen: SocketAddr,
    /// NATS, to resume an approved execution at the execute stage.
    pub nats: NatsOptions,
    /// The ledger; each operator's own token replaces `ledger.token` for
    /// the calls made on their behalf.
    pub ledger: LedgerOptions,
    /// The declared workflows (`workflows/<name>/workflow.toml`): the
    /// approve form is generated from each contract, and corrections are
    /// checked by the gate's rules.
    pub workflows_dir: PathBuf,
    /// How long a sign-in lasts, in milliseconds.
    pub session_ttl_ms: u64,
    /// Failed sign-ins allowed at once from one address before the form
    /// answers 429 without asking the ledger.
    pub failed_sign_ins_burst: u32,
    /// How fast an address earns back a failed sign-in, per second (0: no
    /// limit). Only failures count, so a crowd behind one proxy signing in
    /// with good tokens is never slowed.
    pub failed_sign_ins_per_second: f64,
    /// Whether the session cookie is marked `Secure` (set it behind HTTPS).
    pub secure_cookie: bool,
    /// Where `/livez`, `/readyz` and `/metrics` are served (binary only).
    pub health_listen: Option<SocketAddr>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8070)),
            nats: NatsOptions::default(),
            ledger: LedgerOptions::default(),
            workflows_dir: PathBuf::from("workflows"),
            session_ttl_ms: 8 * 60 * 60 * 1_000,
            failed_sign_ins_burst: 10,
            failed_sign_ins_per_second: 0.1,
            secure_cookie: false,
            health_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9098))),
        }
    }
}

impl Options {
    /// How long a sign-in lasts (at least one second).
    pub fn session_ttl(&self) -> Duration {
        Duration::from_millis(self.session_ttl_ms.max(1_000))
    }
}
