//! The command line's configuration.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sluice_core::Subjects;

/// Settings shared by every `sluice` command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CliConfig {
    /// NATS server URL.
    pub nats_url: String,
    /// Prefix of every subject, stream and bucket.
    pub prefix: String,
    /// How long to wait for the NATS connection, in milliseconds.
    pub connect_timeout_ms: u64,
}

impl Default for CliConfig {
    fn default() -> Self {
        Self {
            nats_url: "nats://127.0.0.1:4223".to_owned(),
            prefix: Subjects::DEFAULT_PREFIX.to_owned(),
            connect_timeout_ms: 5_000,
        }
    }
}

impl CliConfig {
    /// The connection timeout.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// Connects to NATS, or says in one line why it cannot.
    pub async fn connect(&self) -> anyhow::Result<async_nats::Client> {
        async_nats::ConnectOptions::new()
            .connection_timeout(self.connect_timeout())
            .name("sluice-cli")
            .connect(&self.nats_url)
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to NATS at {}: {e}", self.nats_url))
    }
}
