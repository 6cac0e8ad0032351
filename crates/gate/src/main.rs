//! `sluice-gate`: the standard service start-up around the gate.

use std::process::ExitCode;

use sluice_gate::{Options, Service};

fn main() -> ExitCode {
    sluice_runtime::service_main(
        "sluice-gate",
        env!("CARGO_PKG_VERSION"),
        |options: &Options| options.http_listen,
        |options, process| async move {
            let service = Service::new(options).await?;
            process.ready();
            Ok(service.run(process.shutdown).await?)
        },
    )
}
