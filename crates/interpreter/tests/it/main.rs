//! Integration tests of the interpreter stage against real NATS, a real
//! ledger on Postgres, and the scripted fake model over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bad_output;
mod clarification;
mod common;
mod context;
mod failures;
mod flows;
mod logs;
mod props;
