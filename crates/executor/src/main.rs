//! `sluice-executor`: the standard service start-up around the executor.

use std::process::ExitCode;

use sluice_executor::{Executor, Options};

fn main() -> ExitCode {
    sluice_runtime::service_main(
        "sluice-executor",
        env!("CARGO_PKG_VERSION"),
        |options: &Options| options.http_listen,
        |options, process| async move {
            let executor = Executor::new(options).await?;
            process.ready();
            executor.run(process.shutdown).await?;
            Ok(())
        },
    )
}
