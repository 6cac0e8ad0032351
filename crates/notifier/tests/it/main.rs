//! Integration tests of `sluice-notifier` against real NATS and Postgres,
//! with a fake outbound messages endpoint speaking real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fake;
mod notify;
