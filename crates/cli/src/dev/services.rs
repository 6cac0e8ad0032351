//! Starting each pipeline service from the stack's options.

use std::net::SocketAddr;

use anyhow::Context as _;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::stack::StackOptions;

type Services = JoinSet<anyhow::Result<()>>;

/// Starts the interpreter, gate, executor and notifier, pointed at the
/// in-process ledger, the example booking service (the reservation
/// workflow's target) and the example CRM's database (every `postgres`
/// action's).
pub(super) async fn spawn_pipeline(
    options: &StackOptions,
    ledger: &sluice_ledger::LedgerOptions,
    booking_url: &str,
    services: &mut Services,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let interpreter = sluice_interpreter::Service::new(
        sluice_interpreter::Options {
            nats: options.nats_for("interpreter"),
            ledger: ledger.clone(),
            workflows_dir: options.workflows_dir.clone(),
            models: options.models.clone(),
            ..Default::default()
        },
        options.env.clone(),
    )
    .await
    .context("starting the interpreter")?;
    let stop = shutdown.clone();
    services.spawn(async move { Ok(interpreter.run(stop).await.map(drop)?) });

    let gate = sluice_gate::Service::new(sluice_gate::Options {
        nats: options.nats_for("gate"),
        ledger: ledger.clone(),
        workflows_dir: options.workflows_dir.clone(),
        http_listen: None,
        // One process on a laptop: breakers react within a second.
        breaker_every_ms: 1_000,
        // The reservation workflow's availability check asks the booking
        // service this stack started.
        context_urls: [(
            "availability".to_owned(),
            format!(
                "{booking_url}/availability?date={{date}}&time={{time}}&party_size={{party_size}}"
            ),
        )]
        .into(),
        ..Default::default()
    })
    .await
    .context("starting the gate")?;
    let stop = shutdown.clone();
    services.spawn(async move { Ok(gate.run(stop).await?) });

    let executor = sluice_executor::Executor::new(sluice_executor::Options {
        nats: options.nats_for("executor"),
        ledger: ledger.clone(),
        workflows_dir: options.workflows_dir.clone(),
        http_listen: None,
        action_settings: action_settings(options, booking_url)?,
        failpoint: options.executor_failpoint,
        ..Default::default()
    })
    .await
    .context("starting the executor")?;
    let stop = shutdown.clone();
    services.spawn(async move { Ok(executor.run(stop).await.map(drop)?) });

    let notifier = sluice_notifier::Service::new(sluice_notifier::Options {
        nats: options.nats_for("notifier"),
        ledger: ledger.clone(),
        workflows_dir: options.workflows_dir.clone(),
        http_listen: None,
        channels: [(
            "whatsapp".to_owned(),
            sluice_notifier::ChannelOptions::Http {
                url: format!("{booking_url}/v1/messages"),
                timeout_ms: 5_000,
                honours_idempotency_key: false,
                recipient_field: "sender".to_owned(),
            },
        )]
        .into(),
        ..Default::default()
    })
    .await
    .context("starting the notifier")?;
    let stop = shutdown.clone();
    services.spawn(async move { Ok(notifier.run(stop).await?) });
    Ok(())
}

/// Starts the dead-letter service, which indexes every dead letter of the
/// stack in the ledger and announces it, and escalates overdue reviews.
pub(super) async fn spawn_deadletter(
    options: &StackOptions,
    ledger: &sluice_ledger::LedgerOptions,
    services: &mut Services,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    let deadletter = sluice_deadletter::Service::new(
        sluice_deadletter::Options {
            nats: options.nats_for("deadletter"),
            ledger: ledger.clone(),
            http_listen: None,
            // One process on a laptop: a short check makes overdue reviews
            // show up while someone is watching.
            review_sla_check_ms: 1_000,
            backlog_every_ms: 1_000,
            workflows_dir: options.workflows_dir.clone(),
            ..Default::default()
        },
        options.env.clone(),
    )
    .await
    .context("starting the dead-letter service")?;
    let stop = shutdown.clone();
    services.spawn(async move { Ok(deadletter.run(stop).await?) });
    Ok(())
}

/// Starts ingest and returns the address its HTTP API listens on.
pub(super) async fn start_ingest(
    options: &StackOptions,
    ledger: &sluice_ledger::LedgerOptions,
    services: &mut Services,
    shutdown: &CancellationToken,
) -> anyhow::Result<SocketAddr> {
    let ingest = sluice_ingest::Service::new(
        sluice_ingest::Options {
            nats: options.nats_for("ingest"),
            ledger: ledger.clone(),
            sources_dir: options.sources_dir.clone(),
            http_listen: options.ingest_listen,
            ..Default::default()
        },
        options.env.clone(),
    )
    .await
    .context("starting ingest")?
    .bind()
    .await
    .context("starting ingest")?;
    let addr = ingest.local_addr();
    let stop = shutdown.clone();
    services.spawn(async move { Ok(ingest.run(stop).await?) });
    Ok(addr)
}

/// The reservation workflow's `create_booking` action, pointed at the
/// booking service this stack started, and the `postgres` actions at the
/// example CRM.
fn action_settings(
    options: &StackOptions,
    booking_url: &str,
) -> anyhow::Result<std::collections::BTreeMap<String, toml::Table>> {
    let table: toml::Table = toml::from_str(&format!(
        "url = \"{booking_url}/bookings\"\nprobe_url = \"{booking_url}/bookings/by-key/{{key}}\"\n\
         verify_url = \"{booking_url}/bookings/{{external_id}}\"\n"
    ))?;
    let mut settings =
        super::crm::action_settings(&options.workflows_dir, &options.crm_database_url)?;
    settings.insert("create_booking".to_owned(), table);
    Ok(settings)
}

/// Starts the review console when `console_listen` is set; its address.
pub(super) async fn start_console(
    options: &StackOptions,
    ledger: &sluice_ledger::LedgerOptions,
    services: &mut Services,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<SocketAddr>> {
    let Some(listen) = options.console_listen else {
        return Ok(None);
    };
    let console = sluice_console::Service::bind(sluice_console::Options {
        listen,
        nats: options.nats_for("console"),
        // Operators bring their own token; the service token is not used.
        ledger: sluice_ledger::LedgerOptions {
            token: None,
            ..ledger.clone()
        },
        workflows_dir: options.workflows_dir.clone(),
        health_listen: None,
        ..Default::default()
    })
    .await
    .context("starting the review console")?;
    let addr = console.local_addr()?;
    let stop = shutdown.clone();
    services.spawn(async move { Ok(console.run(stop).await?) });
    Ok(Some(addr))
}
