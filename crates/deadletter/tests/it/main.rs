//! Integration tests of the dead-letter service against real NATS and a real
//! ledger (in-process, on a fresh database).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod escalation;
mod paths;
mod restart;
mod retention;
