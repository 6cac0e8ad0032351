//! Integration tests of the ledger against real Postgres: a fresh database per
//! test, the real server started in-process, the typed client on top.

mod auth;
mod binary;
mod concurrency;
mod dead_letters;
mod erase;
mod escalations;
mod group_commit;
mod keys;
mod mtls;
mod ops;
mod replays;
mod retention;
mod reviews;
mod roles;
mod supersede;
mod transitions;

use std::time::Duration;

use sluice_ledger::{BeginOutcome, BeginRequest, Error};
use sluice_testkit::{TestDb, eventually, eventually::check};

/// A lease short enough to expire within a test.
pub const SHORT_LEASE: Duration = Duration::from_millis(200);

/// A Begin for `key` by `owner` with fingerprint `fp-1` and a short lease.
pub fn claim(key: &str, owner: &str) -> BeginRequest {
    BeginRequest {
        key: key.to_owned(),
        fingerprint: "fp-1".to_owned(),
        owner: owner.to_owned(),
        lease: SHORT_LEASE,
        execution_id: None,
        target_honours_keys: false,
        supersede_review: None,
    }
}

/// The fencing token of a STARTED answer, or a failure naming the answer.
pub fn started(outcome: &BeginOutcome) -> anyhow::Result<i64> {
    match outcome {
        BeginOutcome::Started { fencing_token, .. } => Ok(*fencing_token),
        other => anyhow::bail!("expected STARTED, got {other:?}"),
    }
}

/// The gRPC code of a client error.
pub fn code(err: &Error) -> Option<tonic::Code> {
    match err {
        Error::Status(status) => Some(status.code()),
        _ => None,
    }
}

/// Waits until the key's lease has expired on the database clock.
pub async fn wait_lease_expired(db: &TestDb, key: &str) -> anyhow::Result<()> {
    let pool = db.pool().await?;
    eventually("lease expired", Duration::from_secs(5), || async {
        let expired: bool = sqlx::query_scalar(
            "SELECT lease_expires_at <= now() FROM idempotency_keys WHERE key = $1",
        )
        .bind(key)
        .fetch_one(&pool)
        .await?;
        check(expired, || format!("lease of {key} still alive"))
    })
    .await
}
