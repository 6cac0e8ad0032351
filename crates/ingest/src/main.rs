//! `sluice-ingest`: the standard service start-up around ingest.

use std::process::ExitCode;

use sluice_ingest::{Options, Service};

fn main() -> ExitCode {
    sluice_runtime::service_main(
        "sluice-ingest",
        env!("CARGO_PKG_VERSION"),
        |options: &Options| Some(options.health_listen),
        |options, process| async move {
            // Webhook secrets are resolved from the environment by reference.
            let bound = Service::new(options, process.env.clone())
                .await?
                .bind()
                .await?;
            process.ready();
            Ok(bound.run(process.shutdown).await?)
        },
    )
}
