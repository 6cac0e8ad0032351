//! `Options → Service → run(shutdown)`.

use std::collections::HashMap;

use sluice_bus::{Bus, ConsumeLoop};
use sluice_core::workflow::Owners;
use sluice_core::{Stage, WorkflowSpec};
use sluice_ledger::LedgerClient;
use tokio_util::sync::CancellationToken;

use crate::advisory::Advisories;
use crate::escalation::Webhooks;
use crate::escalation::deliver::Escalator;
use crate::index::Indexer;
use crate::review_sla::SlaCheck;
use crate::{Error, Options, consumers};

/// The dead-letter service: connected to NATS, with a ledger client and
/// the declared workflows' owners and escalation webhooks.
pub struct Service {
    options: Options,
    bus: Bus,
    ledger: LedgerClient,
    owners: Owners,
    webhooks: Webhooks,
}

impl Service {
    /// Loads the workflows from `options.workflows_dir` and resolves their
    /// escalation webhooks against the process environment `env` (secrets
    /// and URLs are named by variable), connects to NATS, creates the
    /// ledger client and checks that the ledger keeps idempotency keys long
    /// enough for every replay ([`crate::retention`]); refuses to start
    /// otherwise.
    pub async fn new(
        options: Options,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, Error> {
        let env: HashMap<String, String> = env.into_iter().collect();
        let specs = WorkflowSpec::load_all(&options.workflows_dir)?;
        let owners = Owners::new(&specs);
        let webhooks = Webhooks::resolve(&specs, &env)?;
        let bus = Bus::connect(&options.nats, "sluice-deadletter").await?;
        let ledger = options.ledger.connect()?;
        crate::retention::verify(&bus, &ledger, options.replay_horizon).await?;
        Ok(Self {
            options,
            bus,
            ledger,
            owners,
            webhooks,
        })
    }

    /// Creates its two durable consumers and consumes both until `shutdown`,
    /// then drains in-flight entries. The streams must exist (provisioned).
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), Error> {
        let (js, subjects) = (self.bus.jetstream(), self.bus.subjects());
        let ack_wait = self.options.ack_wait();
        let dead_letters = consumers::dead_letters(js, subjects, ack_wait).await?;
        let advisories = consumers::advisories(js, subjects, ack_wait).await?;
        // The handlers never return `DeadLetter` (and the consumers have no
        // final delivery), so this subject is never published to; the loop
        // only needs one.
        let unused = subjects.dead_letter(Stage::Ingest, "deadletter")?;
        let consume = self.options.consume();
        let index_loop = ConsumeLoop::new(js.clone(), dead_letters, unused.clone(), consume)?;
        let advisory_loop = ConsumeLoop::new(js.clone(), advisories, unused, consume)?;

        let every = self.options.review_sla_check();
        let check = SlaCheck::new(
            self.bus.clone(),
            self.ledger.clone(),
            self.owners.clone(),
            self.webhooks.clone(),
        );
        let sla = tokio::spawn(check.watch(every, shutdown.clone()));
        let escalator = Escalator::new(
            self.ledger.clone(),
            self.webhooks,
            self.owners.clone(),
            self.options.escalation(),
        )?;
        let escalations = tokio::spawn(escalator.watch(every, shutdown.clone()));
        let backlog = tokio::spawn(crate::backlog::watch(
            self.bus.clone(),
            self.ledger.clone(),
            self.owners,
            self.options.backlog_every(),
            shutdown.clone(),
        ));
        let indexer = Indexer::new(self.bus.clone(), self.ledger);
        let index = move |delivery| {
            let indexer = indexer.clone();
            async move { indexer.handle(delivery).await }
        };
        let reporter = Advisories::new(self.bus.advisory_dead_letter());
        let report = move |delivery| {
            let reporter = reporter.clone();
            async move { reporter.handle(delivery).await }
        };
        tracing::info!("dead-letter service consuming");
        let (indexed, reported) = tokio::join!(
            index_loop.run(index, shutdown.clone()),
            advisory_loop.run(report, shutdown.clone()),
        );
        shutdown.cancel();
        let _ = sla.await;
        let _ = escalations.await;
        let _ = backlog.await;
        indexed?;
        reported?;
        Ok(())
    }
}

/// Runs the dead-letter service with `options` and the process
/// environment `env` until `shutdown`.
pub async fn run(
    options: Options,
    env: impl IntoIterator<Item = (String, String)>,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    Service::new(options, env).await?.run(shutdown).await
}
