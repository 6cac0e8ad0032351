//! [`NatsOptions`]: how a service reaches NATS — the server, the
//! installation's prefix, who it is (one NATS user per service in
//! production), TLS and its private inbox prefix.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sluice_core::Subjects;

use crate::Error;

/// How a service reaches NATS, as it appears in its configuration
/// (`[nats]`, or `SLUICE_NATS__<KEY>`).
///
/// At most one way of authenticating may be set: a credentials file, an
/// nkey seed file, a user and password, or a token.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NatsOptions {
    /// Server URL(s), comma-separated.
    pub url: String,
    /// Prefix of every subject, stream, consumer and bucket.
    pub prefix: String,
    /// A `.creds` file (user JWT and nkey seed) for JWT-based accounts.
    pub credentials: Option<PathBuf>,
    /// A file holding the user's nkey seed (`SU…`); the server's
    /// configuration names the matching public key.
    pub nkey_file: Option<PathBuf>,
    /// User name, with `password`.
    pub user: Option<String>,
    /// Password of `user`; never printed.
    pub password: Option<String>,
    /// Authentication token; never printed.
    pub token: Option<String>,
    /// The subject prefix of this client's reply inboxes (`_INBOX` unless
    /// set). The server gives each service its own, so no other user can
    /// read its replies.
    pub inbox_prefix: Option<String>,
    /// TLS settings.
    pub tls: NatsTlsOptions,
    /// How long the first connection may take, in milliseconds.
    pub connect_timeout_ms: u64,
}

/// TLS towards NATS (`[nats.tls]`, or `SLUICE_NATS__TLS__<KEY>`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NatsTlsOptions {
    /// PEM file of the CA that signed the server's certificate.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, presented when the server asks (with `key_file`).
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// Refuse to connect without TLS.
    pub required: bool,
}

impl Default for NatsOptions {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4223".to_owned(),
            prefix: Subjects::DEFAULT_PREFIX.to_owned(),
            credentials: None,
            nkey_file: None,
            user: None,
            password: None,
            token: None,
            inbox_prefix: None,
            tls: NatsTlsOptions::default(),
            connect_timeout_ms: 5_000,
        }
    }
}

// The password and the token are credentials: never print them.
impl std::fmt::Debug for NatsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |s: &Option<String>| s.as_ref().map(|_| "…");
        f.debug_struct("NatsOptions")
            .field("url", &self.url)
            .field("prefix", &self.prefix)
            .field("credentials", &self.credentials)
            .field("nkey_file", &self.nkey_file)
            .field("user", &self.user)
            .field("password", &hidden(&self.password))
            .field("token", &hidden(&self.token))
            .field("inbox_prefix", &self.inbox_prefix)
            .field("tls", &self.tls)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .finish()
    }
}

impl NatsOptions {
    /// The client options these settings describe, named `client_name`
    /// (shown by the server's monitoring). Reads the nkey seed and the
    /// credentials file; refuses contradictory settings.
    pub async fn connect_options(
        &self,
        client_name: &str,
    ) -> Result<async_nats::ConnectOptions, Error> {
        self.validate()?;
        let bad = |reason: String| Error::Connect {
            url: self.url.clone(),
            reason,
        };
        let mut connect = async_nats::ConnectOptions::new()
            .name(client_name)
            .connection_timeout(Duration::from_millis(self.connect_timeout_ms));
        if let Some(path) = &self.credentials {
            connect = connect
                .credentials_file(path)
                .await
                .map_err(|e| bad(format!("credentials {}: {e}", path.display())))?;
        }
        if let Some(path) = &self.nkey_file {
            let seed =
                read_secret(path).map_err(|e| bad(format!("nkey {}: {e}", path.display())))?;
            connect = connect.nkey(seed);
        }
        if let (Some(user), Some(password)) = (&self.user, &self.password) {
            connect = connect.user_and_password(user.clone(), password.clone());
        }
        if let Some(token) = &self.token {
            connect = connect.token(token.clone());
        }
        if let Some(prefix) = &self.inbox_prefix {
            connect = connect.custom_inbox_prefix(prefix);
        }
        let tls = &self.tls;
        if let Some(ca) = &tls.ca_file {
            connect = connect.add_root_certificates(ca.clone());
        }
        if let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) {
            connect = connect.add_client_certificate(cert.clone(), key.clone());
        }
        if tls.required || tls.ca_file.is_some() || tls.cert_file.is_some() {
            connect = connect.require_tls(true);
        }
        Ok(connect)
    }

    /// Connects as `client_name`, or fails with an error naming the URL.
    pub async fn connect(&self, client_name: &str) -> Result<async_nats::Client, Error> {
        let options = self.connect_options(client_name).await?;
        options
            .connect(self.servers())
            .await
            .map_err(|e| Error::Connect {
                url: self.url.clone(),
                reason: e.to_string(),
            })
    }

    /// The server URLs of `url`, which may list several, comma-separated.
    pub fn servers(&self) -> Vec<&str> {
        self.url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .collect()
    }

    /// Refuses settings that cannot all hold: two ways of authenticating, a
    /// password without a user, a certificate without its key, an inbox
    /// prefix that is not a plain subject.
    pub fn validate(&self) -> Result<(), Error> {
        let methods = [
            self.credentials.is_some(),
            self.nkey_file.is_some(),
            self.user.is_some() || self.password.is_some(),
            self.token.is_some(),
        ];
        let config = |what: &str| Err(Error::Config(format!("nats: {what}")));
        if methods.iter().filter(|set| **set).count() > 1 {
            return config("set one of credentials, nkey_file, user/password or token");
        }
        if self.user.is_some() != self.password.is_some() {
            return config("user and password go together");
        }
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            return config("tls.cert_file and tls.key_file go together");
        }
        if let Some(prefix) = &self.inbox_prefix {
            let valid = !prefix.is_empty()
                && !prefix.contains(|c: char| c.is_whitespace() || c == '*' || c == '>')
                && prefix.split('.').all(|token| !token.is_empty());
            if !valid {
                return config("inbox_prefix must be a subject without wildcards");
            }
        }
        Ok(())
    }
}

/// A secret file's content without surrounding whitespace (a mounted
/// Kubernetes Secret often ends in a newline).
fn read_secret(path: &Path) -> std::io::Result<String> {
    Ok(std::fs::read_to_string(path)?.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_way_of_authenticating_at_a_time() {
        let both = NatsOptions {
            token: Some("t".into()),
            nkey_file: Some("/seed".into()),
            ..NatsOptions::default()
        };
        assert!(both.validate().is_err());
        let half = NatsOptions {
            user: Some("gate".into()),
            ..NatsOptions::default()
        };
        assert!(half.validate().is_err());
        let cert_only = NatsOptions {
            tls: NatsTlsOptions {
                cert_file: Some("/c.pem".into()),
                ..NatsTlsOptions::default()
            },
            ..NatsOptions::default()
        };
        assert!(cert_only.validate().is_err());
        let wildcard = NatsOptions {
            inbox_prefix: Some("_INBOX.>".into()),
            ..NatsOptions::default()
        };
        assert!(wildcard.validate().is_err());
        let fine = NatsOptions {
            user: Some("gate".into()),
            password: Some("pw".into()),
            inbox_prefix: Some("_INBOX_gate".into()),
            ..NatsOptions::default()
        };
        assert!(fine.validate().is_ok());
    }

    #[test]
    fn secrets_are_never_printed() {
        let options = NatsOptions {
            user: Some("gate".into()),
            password: Some("s3cret".into()),
            ..NatsOptions::default()
        };
        let shown = format!("{options:?}");
        assert!(
            !shown.contains("s3cret") && shown.contains("gate"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn a_missing_nkey_file_is_named() {
        let options = NatsOptions {
            nkey_file: Some("/nonexistent/sluice.nk".into()),
            ..NatsOptions::default()
        };
        let err = options
            .connect_options("t")
            .await
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("/nonexistent/sluice.nk")),
            "{err:?}"
        );
    }
}
