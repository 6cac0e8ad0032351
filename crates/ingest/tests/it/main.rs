//! Integration tests of the ingest service against real NATS and Postgres
//! (an in-process ledger), with the service running in-process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod common;
mod nats_input;
mod props;
mod schedule;
mod trigger;
mod unavailable;
mod webhook;
