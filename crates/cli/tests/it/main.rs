//! Integration tests of the `sluice` binary and of the whole pipeline, wired
//! as `sluice dev` wires it, against the real broker and Postgres.
#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed harness step should stop the test loudly

mod browser;
mod cli;
mod context;
mod crm;
mod crm_revert;
mod deploy;
mod dlq;
mod docs;
mod erase;
mod eval;
mod feedback;
mod metrics;
mod otel;
mod pipeline;
mod prom;
mod provision;
mod review;
mod stack;
mod switch;
mod trace;
mod trigger;
mod upgrade;
