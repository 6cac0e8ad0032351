//! `sluice`: the operations command line.

use std::process::ExitCode;

use clap::Parser as _;
use sluice_cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| {
            rt.block_on(sluice_cli::run(
                cli,
                std::env::vars(),
                &mut std::io::stdout(),
            ))
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line an operator can act on: the chain of causes, no backtrace.
            eprintln!("sluice: {}", format!("{err:#}").replace('\n', " "));
            // The documented exit codes (see `sluice --help`).
            ExitCode::from(sluice_cli::exit_code(&err))
        }
    }
}
