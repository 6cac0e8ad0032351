//! The interpreter's configuration.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sluice_bus::NatsOptions;
pub use sluice_ledger::LedgerOptions;

use crate::backend::openai::ModelOptions;

/// Everything `sluice-interpreter` needs; loaded by
/// `sluice_runtime::config::load` (defaults < file < `SLUICE_*` < flags).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    /// NATS.
    pub nats: NatsOptions,
    /// The ledger.
    pub ledger: LedgerOptions,
    /// The folder of declared workflows.
    pub workflows_dir: PathBuf,
    /// Only these workflows (empty: every workflow in `workflows_dir`).
    pub workflows: Vec<String>,
    /// OpenAI-compatible backends by the name workflows use in
    /// `interpret.backend` (`openai`, `fake`, `local`…).
    pub models: BTreeMap<String, ModelOptions>,
    /// Health, readiness and metrics.
    pub http_listen: SocketAddr,
    /// Deliveries handled at once per workflow.
    pub concurrency: usize,
    /// Who claims interpretation keys; defaults to `sluice-interpreter:<pid>`.
    pub owner: Option<String>,
    /// Where interpreter-stage `http` context providers are asked, by
    /// provider name, instead of the workflow's `url`.
    pub context_urls: BTreeMap<String, String>,
    /// The database of each interpreter-stage `postgres` context provider,
    /// by name (a read-only user's URL).
    pub context_databases: BTreeMap<String, String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            nats: NatsOptions::default(),
            ledger: LedgerOptions::default(),
            workflows_dir: PathBuf::from("workflows"),
            workflows: Vec::new(),
            models: BTreeMap::new(),
            http_listen: SocketAddr::from(([0, 0, 0, 0], 9102)),
            concurrency: 8,
            owner: None,
            context_urls: BTreeMap::new(),
            context_databases: BTreeMap::new(),
        }
    }
}
