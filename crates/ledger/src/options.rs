//! Typed configuration of a ledger server. Only the binary reads the
//! environment; everything else receives an [`Options`].

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::auth::TokenTable;
use crate::error::redact_url;
use crate::types::DEFAULT_KEY_RETENTION;

/// How long to wait for Postgres unless configured otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How often finished keys past their retention are purged by default.
pub const DEFAULT_PURGE_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Where to find the server's TLS material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM certificate chain of the server.
    pub cert: PathBuf,
    /// PEM private key of the server.
    pub key: PathBuf,
    /// PEM CA that signs client certificates; setting it enables mTLS (client
    /// certificates identify services; bearer tokens keep working).
    pub client_ca: Option<PathBuf>,
}

/// Everything a ledger server needs.
#[derive(Clone)]
pub struct Options {
    /// The gRPC listen address.
    pub listen: SocketAddr,
    /// The Postgres URL.
    pub database_url: String,
    /// The size of the connection pool.
    pub max_connections: u32,
    /// How long to wait for Postgres (start-up probe, pool acquisition).
    pub connect_timeout: Duration,
    /// Bearer tokens and their identities.
    pub tokens: TokenTable,
    /// TLS, if any. Without TLS and tokens the ledger runs in insecure dev mode.
    pub tls: Option<TlsOptions>,
    /// Apply the embedded migrations before serving.
    pub migrate_on_start: bool,
    /// How long in-flight calls may take to finish after shutdown is asked.
    pub shutdown_grace: Duration,
    /// Where `/livez`, `/readyz` and `/metrics` are served; not served when
    /// unset (tests, embedding).
    pub http_listen: Option<SocketAddr>,
    /// How long a completed or permanently failed idempotency key is kept
    /// after its last change. It must cover the dead-letter stream's max age
    /// plus the replay horizon (the dead-letter service refuses to start
    /// otherwise), or a late replay could repeat an effect.
    pub key_retention: Duration,
    /// How often the purge of keys past their retention runs.
    pub purge_interval: Duration,
    /// Write concurrent hot-path calls (fresh Begin, MarkAttempted,
    /// Complete with the moves it carries, transitions and paths of
    /// existing executions) together (see `store::group`); off only to
    /// measure what it saves.
    pub group_commit: bool,
}

impl Options {
    /// The defaults for `database_url`: listen on 127.0.0.1:50051, 16
    /// connections, 5 s connect timeout, no auth, no TLS, no migrations,
    /// keys kept 45 days and purged hourly, group commit on.
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            database_url: database_url.into(),
            max_connections: 16,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            tokens: TokenTable::default(),
            tls: None,
            migrate_on_start: false,
            shutdown_grace: Duration::from_secs(10),
            http_listen: None,
            key_retention: DEFAULT_KEY_RETENTION,
            purge_interval: DEFAULT_PURGE_INTERVAL,
            group_commit: true,
        }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password; tokens are secrets.
        f.debug_struct("Options")
            .field("listen", &self.listen)
            .field("database_url", &redact_url(&self.database_url))
            .field("max_connections", &self.max_connections)
            .field("connect_timeout", &self.connect_timeout)
            .field("tokens", &self.tokens)
            .field("tls", &self.tls)
            .field("migrate_on_start", &self.migrate_on_start)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("http_listen", &self.http_listen)
            .field("key_retention", &self.key_retention)
            .field("purge_interval", &self.purge_interval)
            .field("group_commit", &self.group_commit)
            .finish()
    }
}
