//! Integration tests of the `sluice` binary against the real broker.
#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed harness step should stop the test loudly

mod provision;
