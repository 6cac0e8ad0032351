//! Integration tests of `sluice-bus` against the real broker
//! (`scripts/dev-up.sh`). Each test runs under its own prefix.

mod common;
mod connect;
mod dead_letter;
mod events;
mod pause;
mod progress;
mod provision;
mod publish;
mod retry;
mod shutdown;
