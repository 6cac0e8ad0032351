//! `sluice-chaos`: the reliability harness.
//!
//! Runs every Sluice service (and the example booking service) as its own OS
//! process against a private nats-server and private Postgres clusters it
//! starts itself, sends a stream of reservation events through signed
//! webhooks and NATS input, injects a seeded, replayable fault schedule
//! (duplicates, SIGKILL, SIGSTOP/SIGCONT, broker and database crash
//! restarts, target and model faults, redeliveries), then checks the
//! invariants I1–I7 from independent records: the booking service's own
//! effect log, the ledger's tables and the streams.
//!
//! ```text
//! sluice-chaos --profile smoke --seed 7          # exit 0: every invariant held
//! sluice-chaos --profile mutant --seed 7         # exit 1: the mutant was caught
//! ```
//!
//! Exit codes: 0 every invariant held, 1 an invariant failed, 2 the harness
//! itself could not run (a missing binary, an engine that did not start).
#![allow(clippy::disallowed_methods)] // a binary: it reads SLUICE_CHAOS_* from the environment

mod args;
mod check;
mod drain;
mod engines;
mod faults;
mod fleet;
mod inject;
mod load;
mod log;
mod probe;
mod replay;
mod report;
mod run;
mod setup;
mod tools;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let args = args::Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("sluice-chaos: {err}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run::run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) => {
            eprintln!("sluice-chaos: {}", format!("{err:#}").replace('\n', " "));
            ExitCode::from(2)
        }
    }
}
