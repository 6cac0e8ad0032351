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
            // Escalation secrets and URLs are resolved from the environment
            // by reference.
            let service = Service::new(options, process.env.clone()).await?;
            process.ready();
            Ok(service.run(process.shutdown).await?)
        },
    )
}
