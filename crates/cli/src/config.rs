//! The command line's configuration.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sluice_bus::{NatsOptions, NatsTlsOptions};
use sluice_core::Subjects;
use sluice_ledger::{LedgerClient, LedgerOptions, LedgerTlsOptions};

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
    /// TLS towards the ledger and the operator's client certificate.
    pub ledger_tls: LedgerTlsOptions,
    /// A NATS `.creds` file.
    pub nats_credentials: Option<PathBuf>,
    /// A file holding the NATS user's nkey seed.
    pub nats_nkey_file: Option<PathBuf>,
    /// NATS user name, with `nats_password`.
    pub nats_user: Option<String>,
    /// NATS password; never printed.
    pub nats_password: Option<String>,
    /// NATS token; never printed.
    pub nats_token: Option<String>,
    /// The subject prefix of this client's reply inboxes.
    pub nats_inbox_prefix: Option<String>,
    /// TLS towards NATS.
    pub nats_tls: NatsTlsOptions,
}

impl Default for CliConfig {
    fn default() -> Self {
        Self {
            nats_url: "nats://127.0.0.1:4223".to_owned(),
            prefix: Subjects::DEFAULT_PREFIX.to_owned(),
            connect_timeout_ms: 5_000,
            ledger_url: LedgerOptions::default().url,
            ledger_token: None,
            ledger_tls: LedgerTlsOptions::default(),
            nats_credentials: None,
            nats_nkey_file: None,
            nats_user: None,
            nats_password: None,
            nats_token: None,
            nats_inbox_prefix: None,
            nats_tls: NatsTlsOptions::default(),
        }
    }
}

// Tokens and passwords are credentials: never print them.
impl std::fmt::Debug for CliConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CliConfig")
            .field("ledger_url", &self.ledger_url)
            .field("ledger_token", &self.ledger_token.as_ref().map(|_| "…"))
            .field("ledger_tls", &self.ledger_tls)
            .field("nats", &self.nats_options())
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

    /// How the command line reaches NATS.
    pub fn nats_options(&self) -> NatsOptions {
        NatsOptions {
            url: self.nats_url.clone(),
            prefix: self.prefix.clone(),
            credentials: self.nats_credentials.clone(),
            nkey_file: self.nats_nkey_file.clone(),
            user: self.nats_user.clone(),
            password: self.nats_password.clone(),
            token: self.nats_token.clone(),
            inbox_prefix: self.nats_inbox_prefix.clone(),
            tls: self.nats_tls.clone(),
            connect_timeout_ms: self.connect_timeout_ms,
        }
    }

    /// Connects to NATS, or says in one line why it cannot.
    pub async fn connect(&self) -> anyhow::Result<async_nats::Client> {
        let options = self.nats_options();
        // Contradictory or unreadable settings are the operator's to fix
        // (exit 2), an unreachable server is not (exit 4).
        let connect = options
            .connect_options("sluice-cli")
            .await
            .map_err(|e| CliError::Usage(e.to_string()))?;
        connect.connect(options.servers()).await.map_err(|e| {
            CliError::Unreachable(format!("cannot connect to NATS at {}: {e}", self.nats_url))
                .into()
        })
    }

    /// The pipeline's bus under the configured prefix (for commands that
    /// hand an execution back to a stage).
    pub async fn bus(&self) -> anyhow::Result<sluice_bus::Bus> {
        let client = self.connect().await?;
        let subjects =
            Subjects::new(self.prefix.clone()).map_err(|e| CliError::Usage(e.to_string()))?;
        Ok(sluice_bus::Bus::new(client, subjects))
    }

    /// A ledger client (connected lazily: an unreachable ledger shows on the
    /// first call, mapped by [`CliError::from_ledger`]).
    pub fn ledger(&self) -> Result<LedgerClient, CliError> {
        let options = LedgerOptions {
            url: self.ledger_url.clone(),
            token: self.ledger_token.clone(),
            timeout_ms: Some(self.connect_timeout_ms),
            max_retries: Some(LEDGER_RETRIES),
            tls: self.ledger_tls.clone(),
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
