//! Integration tests of `sluice-gate` against real NATS and Postgres: each
//! test provisions its own prefix and database and runs the gate in-process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bad_input;
mod common;
mod context;
mod drift;
mod idempotency;
mod routing;
mod switches;
