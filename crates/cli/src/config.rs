//! The command line's configuration.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sluice_core::Subjects;
use sluice_ledger::{LedgerClient, LedgerOptions};

use crate::error::CliError;

/// Settings shared by every `sluice` command.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CliConfig {
    /// NATS server URL.
    pub nats_url: String,
    /// Prefix of every subject, stream and bucket.
    pub prefix: String,
    /// How long to wait for the NATS connection, and for one ledger call, in
    /// milliseconds.
    pub connect_timeout_ms: u64,
    /// The ledger's gRPC endpoint.
    pub ledger_url: String,
    /// The operator's bearer token for the ledger (`SLUICE_LEDGER_TOKEN`);
    /// never printed.
    pub ledger_token: Option<String>,
}

impl Default for CliConfig {
    fn default() -> Self {
        Self {
            nats_url: "nats://127.0.0.1:4223".to_owned(),
            prefix: Subjects::DEFAULT_PREFIX.to_owned(),
            connect_timeout_ms: 5_000,
            ledger_url: LedgerOptions::default().url,
            ledger_token: None,
        }
    }
}

// The token is a credential: never print it.
impl std::fmt::Debug for CliConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CliConfig")
            .field("nats_url", &self.nats_url)
            .field("prefix", &self.prefix)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("ledger_url", &self.ledger_url)
            .field("ledger_token", &self.ledger_token.as_ref().map(|_| "…"))
            .finish()
    }
}

/// Retries of a transient ledger failure: an operator waiting at a prompt
/// wants a quick "cannot reach", not the services' patient backoff.
const LEDGER_RETRIES: usize = 2;

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
            .map_err(|e| {
                CliError::Unreachable(format!("cannot connect to NATS at {}: {e}", self.nats_url))
                    .into()
            })
    }

    /// A ledger client (connected lazily: an unreachable ledger shows on the
    /// first call, mapped by [`CliError::from_ledger`]).
    pub fn ledger(&self) -> Result<LedgerClient, CliError> {
        let options = LedgerOptions {
            url: self.ledger_url.clone(),
            token: self.ledger_token.clone(),
            timeout_ms: Some(self.connect_timeout_ms),
            max_retries: Some(LEDGER_RETRIES),
        };
        options
            .connect()
            .map_err(|e| CliError::from_ledger(&self.ledger_url, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_comes_from_the_environment_and_is_never_printed() -> anyhow::Result<()> {
        let env = [
            ("SLUICE_LEDGER_TOKEN".to_owned(), "s3cret".to_owned()),
            (
                "SLUICE_LEDGER_URL".to_owned(),
                "http://ledger:50051".to_owned(),
            ),
        ];
        let config: CliConfig = sluice_runtime::config::load(None, env, &[])?;
        assert_eq!(config.ledger_token.as_deref(), Some("s3cret"));
        assert_eq!(config.ledger_url, "http://ledger:50051");
        assert!(!format!("{config:?}").contains("s3cret"));
        let defaults: CliConfig = sluice_runtime::config::load(None, Vec::new(), &[])?;
        assert_eq!(defaults.ledger_url, "http://127.0.0.1:50051");
        assert_eq!(defaults.ledger_token, None);
        Ok(())
    }
}
