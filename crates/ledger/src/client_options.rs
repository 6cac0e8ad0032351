//! How a service reaches the ledger: the `[ledger]` table every service's
//! configuration shares, turned into [`ClientOptions`] and a [`LedgerClient`].

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use crate::client::{ClientOptions, LedgerClient};
use crate::error::{Error, Result};

/// The `[ledger]` section of a service's configuration.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LedgerOptions {
    /// `http://host:port` or `https://host:port` of the ledger's gRPC endpoint.
    pub url: String,
    /// Bearer token (role `service`), if the ledger requires one.
    pub token: Option<String>,
    /// Deadline of one ledger call, in milliseconds; unset, the service's
    /// default ([`ClientOptions::new`]'s unless it says otherwise).
    pub timeout_ms: Option<u64>,
    /// Retries of a transient ledger failure after the first attempt; unset,
    /// the service's default.
    pub max_retries: Option<usize>,
    /// TLS towards an `https://` ledger, and the client certificate that
    /// identifies this service when the ledger asks for one (mTLS).
    pub tls: LedgerTlsOptions,
}

/// The `[ledger.tls]` section: how a client checks the ledger and proves
/// who it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LedgerTlsOptions {
    /// PEM CA that signed the ledger's certificate.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, presented on every connection (with
    /// `key_file`); the ledger reads the caller's identity from it.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// The name to check the ledger's certificate against, when it differs
    /// from the URL's host.
    pub domain: Option<String>,
}

impl LedgerTlsOptions {
    /// Whether anything is set.
    pub fn is_set(&self) -> bool {
        self.ca_file.is_some()
            || self.cert_file.is_some()
            || self.key_file.is_some()
            || self.domain.is_some()
    }

    /// The client TLS configuration, reading the PEM files; `None` when
    /// nothing is set and the endpoint is plain `http`.
    pub fn client_config(&self, endpoint: &str) -> Result<Option<ClientTlsConfig>> {
        if !self.is_set() && !endpoint.starts_with("https:") {
            return Ok(None);
        }
        let read = |path: &PathBuf| {
            std::fs::read(path)
                .map_err(|e| Error::Config(format!("ledger tls {}: {e}", path.display())))
        };
        let mut tls = ClientTlsConfig::new();
        if let Some(ca) = &self.ca_file {
            tls = tls.ca_certificate(Certificate::from_pem(read(ca)?));
        }
        match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => {
                tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
            }
            (None, None) => {}
            _ => {
                return Err(Error::Config(
                    "ledger tls: cert_file and key_file go together".to_owned(),
                ));
            }
        }
        if let Some(domain) = &self.domain {
            tls = tls.domain_name(domain.clone());
        }
        Ok(Some(tls))
    }
}

impl Default for LedgerOptions {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:50051".to_owned(),
            token: None,
            timeout_ms: None,
            max_retries: None,
            tls: LedgerTlsOptions::default(),
        }
    }
}

// The token is a credential: never print it.
impl std::fmt::Debug for LedgerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerOptions")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .field("timeout_ms", &self.timeout_ms)
            .field("max_retries", &self.max_retries)
            .field("tls", &self.tls)
            .finish()
    }
}

impl LedgerOptions {
    /// The typed client's options; what is unset keeps [`ClientOptions::new`]'s
    /// defaults. Fails when a TLS file cannot be read.
    pub fn client_options(&self) -> Result<ClientOptions> {
        let defaults = ClientOptions::new(self.url.clone());
        let (timeout, max_retries) = (defaults.timeout, defaults.max_retries);
        self.client_options_with(timeout, max_retries)
    }

    /// The typed client's options, with a service's own defaults for an
    /// unset deadline and retry count.
    pub fn client_options_with(
        &self,
        timeout: Duration,
        max_retries: usize,
    ) -> Result<ClientOptions> {
        let mut options = ClientOptions::new(self.url.clone());
        options.token = self.token.clone();
        options.timeout = self.timeout_ms.map_or(timeout, Duration::from_millis);
        options.max_retries = self.max_retries.unwrap_or(max_retries);
        options.tls = self.tls.client_config(&self.url)?;
        Ok(options)
    }

    /// Creates a client (lazily connected, see [`LedgerClient::connect`]).
    pub fn connect(&self) -> Result<LedgerClient> {
        LedgerClient::connect(self.client_options()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_values_win_over_a_services_defaults() {
        let options = LedgerOptions {
            timeout_ms: Some(2_000),
            ..LedgerOptions::default()
        };
        let client = options
            .client_options_with(Duration::from_secs(3), 2)
            .expect("no TLS files to read");
        assert_eq!(client.timeout, Duration::from_millis(2_000));
        assert_eq!(client.max_retries, 2);
    }

    #[test]
    fn defaults_are_the_clients_and_debug_hides_the_token() {
        let options = LedgerOptions {
            token: Some("s3cret".to_owned()),
            ..LedgerOptions::default()
        };
        let client = options.client_options().expect("no TLS files to read");
        let defaults = ClientOptions::new("x");
        assert_eq!(client.endpoint, "http://127.0.0.1:50051");
        assert_eq!(client.timeout, defaults.timeout);
        assert_eq!(client.max_retries, defaults.max_retries);
        assert_eq!(client.token.as_deref(), Some("s3cret"));
        assert!(!format!("{options:?}").contains("s3cret"));
    }
}
