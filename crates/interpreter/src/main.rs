//! `sluice-interpreter`: the standard service start-up around the interpreter.

use std::process::ExitCode;

use sluice_interpreter::{Options, Service};

fn main() -> ExitCode {
    sluice_runtime::service_main(
        "sluice-interpreter",
        env!("CARGO_PKG_VERSION"),
        |options: &Options| Some(options.http_listen),
        |options, process| async move {
            // Model API keys are resolved from the environment by reference.
            let service = Service::new(options, process.env.clone()).await?;
            process.ready();
            service.run(process.shutdown).await?;
            Ok(())
        },
    )
}
