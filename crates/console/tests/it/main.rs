//! Integration tests of the review console: a real ledger on a fresh
//! database, the console on an ephemeral port, driven over HTTP.

mod approve;
mod corrections;
mod dead_letters;
mod decisions;
mod harness;
mod replays;
mod sign_in;
mod switches;
