//! `sluice-console`: the standard service start-up around the review console.

use std::process::ExitCode;

use sluice_console::{Options, Service};

fn main() -> ExitCode {
    sluice_runtime::service_main(
        "sluice-console",
        env!("CARGO_PKG_VERSION"),
        |options: &Options| options.health_listen,
        |options, process| async move {
            let service = Service::bind(options).await?;
            process.ready();
            Ok(service.run(process.shutdown).await?)
        },
    )
}
