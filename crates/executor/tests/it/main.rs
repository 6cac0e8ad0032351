//! Integration tests of the executor: real NATS, a real ledger on Postgres,
//! and the example booking service over real HTTP on its own database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod crash;
mod execute;
mod failures;
mod pg_crash;
mod postgres;
mod process_kill;
mod saga;
mod switches;
mod verify;
