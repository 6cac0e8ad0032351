//! `sluice-deadletter`: the standard service start-up around the dead-letter
//! service.

use std::process::ExitCode;

use sluice_deadletter::{Options, Service};

fn main() -> ExitCode {
    sluice_runtime::service_main(
        "sluice-deadletter",
        env!("CARGO_PKG_VERSION"),
        |options: &Options| options.http_listen,
        |options, process| async move {
            let service = Service::new(options).await?;
            process.ready();
            Ok(service.run(process.shutdown).await?)
        },
    )
}
