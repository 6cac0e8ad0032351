//! Test harness for Sluice's integration tests.
//!
//! Tests talk to the real engines, never to mocks of them: each test gets a
//! unique NATS prefix (its own streams, consumers and KV bucket) on the broker
//! started by `scripts/dev-up.sh`, and a fresh Postgres database that is
//! dropped when the test ends. Waits are `eventually`-style polls with a
//! deadline, never bare sleeps.
//!
//! The harness reads its endpoints from the environment, like a binary would:
//! `SLUICE_TEST_NATS_URL` (default `nats://127.0.0.1:4223`) and
//! `SLUICE_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
#![allow(clippy::disallowed_methods)] // the harness is the test binary's entry point to the environment

pub mod eventually;
pub mod fake_model;
pub mod fake_script;
pub mod ledger;
pub mod nats;
pub mod otlp;
pub mod pipeline;
pub mod postgres;

pub use eventually::eventually;
pub use ledger::TestLedger;
pub use nats::TestNats;
pub use postgres::TestDb;

/// A short random lower-case token, unique enough to keep concurrent tests
/// (and concurrent runs on one machine) apart.
pub fn unique_token() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("t{}", &id[..12])
}

/// Copies the folder `from` to `to`, sub-folders included (a workflow's
/// `eval/` cases come along), for tests that edit a private copy.
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
