//! The ledger's error type.

/// Everything that can go wrong in the ledger's store, server and client.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request that can never succeed as sent (bad key, empty fingerprint,
    /// unknown state name, malformed JSON…).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The key or execution does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The caller's fencing token is no longer the key's current one: someone
    /// else took over (or the key moved on), so this caller must stop.
    #[error("stale fencing token {token} for key {key:?}")]
    StaleToken {
        /// The key.
        key: String,
        /// The token presented.
        token: i64,
    },
    /// The state machine refuses the move, or the execution is elsewhere.
    #[error("illegal transition: {0}")]
    IllegalTransition(String),
    /// The operation is refused in the subject's current state (a decided
    /// review item, a discarded or exhausted dead letter…).
    #[error("refused: {0}")]
    Precondition(String),
    /// The caller's role may call the RPC but not ask for this (a service
    /// turning a switch on).
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// Configuration that cannot work (bad token table, bad TLS files…).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Postgres could not be reached at start-up.
    #[error("cannot connect to Postgres at {url}: {reason}")]
    Connect {
        /// The database URL with any password removed.
        url: String,
        /// The driver's explanation, on one line.
        reason: String,
    },
    /// A database error while serving.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying the embedded migrations failed.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Binding or serving the gRPC listener failed.
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// An I/O error (binding the listener, reading TLS files).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The health and metrics server could not start.
    #[error(transparent)]
    Runtime(#[from] sluice_runtime::Error),
    /// The ledger answered a client call with an error status.
    #[error("ledger returned {}: {}", .0.code(), .0.message())]
    Status(#[from] tonic::Status),
    /// The ledger answered with a response this client cannot read.
    #[error("malformed ledger response: {0}")]
    Malformed(String),
}

/// The ledger's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether the error is about reaching the database rather than about the
    /// request, so a caller may try again later.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Error::Database(
                sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed
            )
        )
    }
}

impl From<Error> for tonic::Status {
    fn from(err: Error) -> Self {
        use tonic::Status;
        match &err {
            Error::InvalidArgument(msg) => Status::invalid_argument(msg.clone()),
            Error::NotFound(msg) => Status::not_found(msg.clone()),
            Error::StaleToken { .. } => Status::aborted(err.to_string()),
            Error::IllegalTransition(msg) | Error::Precondition(msg) => {
                Status::failed_precondition(msg.clone())
            }
            Error::PermissionDenied(msg) => Status::permission_denied(msg.clone()),
            Error::Status(status) => status.clone(),
            _ if err.is_unavailable() => Status::unavailable(err.to_string()),
            _ => {
                tracing::error!(error = %err, "internal ledger error");
                Status::internal("internal ledger error")
            }
        }
    }
}

/// Removes the password from a database URL so it can be logged or printed.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            format!("{scheme}://{user}@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_survive_redaction() {
        assert_eq!(
            redact_url("postgres://sluice:s3cr%40t@db:5432/sluice?sslmode=require"),
            "postgres://sluice@db:5432/sluice?sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(
            redact_url("postgres://127.0.0.1:1/x"),
            "postgres://127.0.0.1:1/x"
        );
        assert_eq!(redact_url("not a url"), "not a url");
    }
}
