//! Shared set-up: a provisioned prefix, a ledger, the service, failing stages.

use std::time::Duration;

use async_nats::jetstream::message::StreamMessage;
use futures::StreamExt as _;
use sluice_bus::{
    Backoff, Bus, ConsumeOptions, ConsumerSettings, Delivery, ExecutionEvent, HandlerError,
    NatsOptions, Outcome, StreamSettings, StreamsConfig, Topology,
};
use sluice_core::subjects::StreamKind;
use sluice_core::{CorrelationId, Envelope, FailureClass, Stage, State};
use sluice_deadletter::{ADVISORIES_CONSUMER, DEAD_LETTERS_CONSUMER, Options, Service};
use sluice_ledger::{DeadLetter, DeadLetterFilter, LedgerOptions, Origin, Transition};
use sluice_testkit::eventually::{self, check};
use sluice_testkit::{TestDb, TestLedger, TestNats};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The workflow whose stage dead-letters through the bus.
pub const WORKFLOW: &str = "w";
/// The workflow whose stage handler dies without acking.
pub const DYING: &str = "v";
pub const STAGE: Stage = Stage::Gate;
pub const WAIT: Duration = Duration::from_secs(20);

pub struct Env {
    pub nats: TestNats,
    pub bus: Bus,
    pub ledger: TestLedger,
    /// The workflows `w` (owned by [`OWNER`], with an escalation webhook
    /// whose URL and secret come from [`URL_VAR`] and [`SECRET_VAR`]) and
    /// `v` (no owner).
    pub workflows: Workflows,
    _db: TestDb,
}

/// The team that owns `WORKFLOW`.
pub const OWNER: &str = "team-w";
/// The variable naming `WORKFLOW`'s escalation webhook.
pub const URL_VAR: &str = "SLUICE_TEST_ESCALATION_URL";
/// The variable holding its signing secret.
pub const SECRET_VAR: &str = "SLUICE_TEST_ESCALATION_SECRET";

/// A private workflows folder, removed on drop.
pub struct Workflows(pub std::path::PathBuf);

impl Workflows {
    fn new() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("sluice-deadletter-{}", uuid::Uuid::new_v4()));
        let spec = |name: &str, ownership: &str| {
            format!(
                "name = \"{name}\"\nsources = [\"test\"]\ntimezone = \"UTC\"\n\
                 contract = \"contract.schema.json\"\nactions = []\n{ownership}\n\
                 [interpret]\nprompt = \"prompt.v1.md\"\nprompt_version = \"v1\"\n\
                 backend = \"rules\"\n\
                 [gate]\nauto_threshold = 0.9\nreview_threshold = 0.5\nallowed_actions = []\n"
            )
        };
        let owned = format!(
            "[ownership]\nowner = \"{OWNER}\"\ncontact = \"#team-w\"\nsla_s = 1\n\
             escalation = {{ webhook = {{ env = \"{URL_VAR}\" }}, secret_env = \"{SECRET_VAR}\" }}\n"
        );
        for (name, ownership) in [(WORKFLOW, owned.as_str()), (DYING, "")] {
            std::fs::create_dir_all(dir.join(name))?;
            std::fs::write(dir.join(name).join("workflow.toml"), spec(name, ownership))?;
        }
        Ok(Self(dir))
    }
}

impl Drop for Workflows {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Env {
    /// Stage consumers with a 1 s ack wait and two deliveries.
    pub async fn new() -> anyhow::Result<Self> {
        Self::with_ledger(|_| {}).await
    }

    /// As [`Env::new`], with the ledger's options changed by `configure`.
    pub async fn with_ledger(
        configure: impl FnOnce(&mut sluice_ledger::Options),
    ) -> anyhow::Result<Self> {
        let nats = TestNats::new().await?;
        let bus = Bus::new(nats.client.clone(), nats.subjects.clone());
        bus.provision(&topology()).await?;
        let db = TestDb::new().await?;
        let ledger = TestLedger::start_configured(&db, None, configure).await?;
        Ok(Self {
            nats,
            bus,
            ledger,
            workflows: Workflows::new()?,
            _db: db,
        })
    }

    /// Starts the dead-letter service in-process (no escalation webhook).
    pub async fn start_service(&self) -> anyhow::Result<Running> {
        self.start_configured(self.service_options(), Vec::new())
            .await
    }

    /// Starts the dead-letter service with `options` and the process
    /// environment `env`.
    pub async fn start_configured(
        &self,
        options: Options,
        env: Vec<(String, String)>,
    ) -> anyhow::Result<Running> {
        let service = Service::new(options, env).await?;
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(service.run(shutdown.clone()));
        Ok(Running { shutdown, task })
    }

    /// The service's options for this environment (fast polls, short waits).
    pub fn service_options(&self) -> Options {
        Options {
            nats: NatsOptions {
                url: self.nats.url.clone(),
                prefix: self.nats.subjects.prefix().to_owned(),
                ..NatsOptions::default()
            },
            ledger: LedgerOptions {
                url: format!("http://{}", self.ledger.addr),
                ..LedgerOptions::default()
            },
            http_listen: None,
            fetch_wait_ms: 300,
            grace_ms: 2_000,
            ack_wait_ms: 5_000,
            retry_base_ms: 50,
            retry_max_ms: 500,
            workflows_dir: self.workflows.0.clone(),
            ..Options::default()
        }
    }

    /// Publishes event `i` of `workflow` to the gate stage, after creating
    /// its execution in the ledger (RECEIVED).
    pub async fn publish(&self, workflow: &str, i: usize) -> anyhow::Result<(Envelope, u64)> {
        let envelope = Envelope::new(
            "test",
            format!("event-{i}"),
            workflow,
            CorrelationId::generate(),
            chrono::Utc::now(),
            serde_json::json!({ "i": i }),
        );
        self.ledger
            .client
            .record_transition(&Transition {
                execution_id: envelope.execution_id,
                from: None,
                to: State::Received,
                stage: "ingest".into(),
                generation: "0".into(),
                detail: None,
                exception_reason: None,
                final_outcome: None,
                origin: Origin {
                    workflow: workflow.into(),
                    source: "test".into(),
                    event_id: envelope.event_id.clone(),
                    correlation_id: envelope.correlation_id.as_str().into(),
                },
            })
            .await?;
        let published = self
            .bus
            .publisher()
            .envelope_to_stage(&envelope, STAGE, "0", None)
            .await?;
        Ok((envelope, published.sequence))
    }

    /// Runs the gate stage of `WORKFLOW` with a handler that dead-letters
    /// every message as permanent.
    pub async fn dead_lettering_stage(&self) -> anyhow::Result<Running> {
        let consume = self.bus.stage_loop(STAGE, WORKFLOW, options()).await?;
        let shutdown = CancellationToken::new();
        let handler = |_: Delivery| async {
            Ok::<_, HandlerError>(Outcome::dead_letter(
                FailureClass::Permanent,
                "no such table",
            ))
        };
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            consume.run(handler, stop).await?;
            Ok(())
        });
        Ok(Running { shutdown, task })
    }

    /// Takes the gate deliveries of `DYING` and never acks them, as a
    /// handler that crashes on every try would.
    pub async fn dying_stage(&self) -> anyhow::Result<JoinHandle<()>> {
        let name = self.nats.subjects.consumer(STAGE, DYING)?;
        let consumer = self.bus.pull_consumer(StreamKind::Pipeline, &name).await?;
        Ok(tokio::spawn(async move {
            loop {
                let Ok(mut batch) = consumer
                    .batch()
                    .max_messages(1)
                    .expires(Duration::from_millis(500))
                    .messages()
                    .await
                else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                while let Some(Ok(_dropped_unacked)) = batch.next().await {}
            }
        }))
    }

    /// Every entry in the ledger's dead-letter index.
    pub async fn entries(&self) -> anyhow::Result<Vec<DeadLetter>> {
        let page = self
            .ledger
            .client
            .list_dead_letters(&DeadLetterFilter::default())
            .await?;
        Ok(page.dead_letters)
    }

    /// Waits for `n` entries in the index.
    pub async fn wait_entries(&self, n: usize) -> anyhow::Result<Vec<DeadLetter>> {
        eventually::eventually("dead letters indexed", WAIT, || async {
            let entries = self.entries().await?;
            check(entries.len() >= n, || format!("{} entries", entries.len()))?;
            Ok(entries)
        })
        .await
    }

    /// The dead-lettered events announced for `workflow`.
    pub async fn events(&self, workflow: &str) -> anyhow::Result<Vec<ExecutionEvent>> {
        let subject = self.nats.subjects.event(State::DeadLettered, workflow)?;
        let stored = self.stored(StreamKind::Events).await?;
        Ok(stored
            .iter()
            .filter(|m| m.subject.as_str() == subject)
            .filter_map(|m| serde_json::from_slice(&m.payload).ok())
            .collect())
    }

    /// Every message stored in the stream of `kind`.
    pub async fn stored(&self, kind: StreamKind) -> anyhow::Result<Vec<StreamMessage>> {
        let name = self.nats.subjects.stream(kind);
        let mut stream = self.nats.jetstream.get_stream(name).await?;
        let state = stream.info().await?.state.clone();
        let mut out = Vec::new();
        if state.messages == 0 {
            return Ok(out);
        }
        for seq in state.first_sequence..=state.last_sequence {
            out.push(stream.get_raw_message(seq).await?);
        }
        Ok(out)
    }

    /// Waits until both of the service's consumers have nothing left to do.
    pub async fn service_drained(&self) -> anyhow::Result<()> {
        let prefix = self.nats.subjects.prefix().to_owned();
        let consumers = [
            (StreamKind::DeadLetter, DEAD_LETTERS_CONSUMER),
            (StreamKind::Advisories, ADVISORIES_CONSUMER),
        ];
        eventually::eventually("dead-letter service drained", WAIT, || async {
            for (kind, suffix) in consumers {
                let name = format!("{prefix}-{suffix}");
                let stream = self
                    .nats
                    .jetstream
                    .get_stream(self.nats.subjects.stream(kind))
                    .await?;
                let info = stream.consumer_info(&name).await?;
                check(info.num_pending == 0 && info.num_ack_pending == 0, || {
                    format!(
                        "{name}: {} pending, {} unacked",
                        info.num_pending, info.num_ack_pending
                    )
                })?;
            }
            Ok(())
        })
        .await
    }

    /// Waits until the execution is in `state`.
    pub async fn wait_state(&self, envelope: &Envelope, state: State) -> anyhow::Result<()> {
        eventually::eventually("execution state", WAIT, || async {
            let (execution, _) = self
                .ledger
                .client
                .get_execution(envelope.execution_id)
                .await?;
            check(execution.state == state.as_str(), || {
                execution.state.clone()
            })
        })
        .await
    }
}

/// A running task and its shutdown.
pub struct Running {
    pub shutdown: CancellationToken,
    pub task: JoinHandle<Result<(), sluice_deadletter::Error>>,
}

impl Running {
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT, self.task).await???;
        Ok(())
    }
}

fn topology() -> Topology {
    let hour = Duration::from_secs(3600);
    let two_min = Duration::from_secs(120);
    let streams = StreamsConfig {
        ingest: StreamSettings::new(hour, two_min),
        pipeline: StreamSettings::new(hour, two_min),
        dead_letter: StreamSettings::new(hour, Duration::from_secs(600)),
        advisories: StreamSettings::new(hour, two_min),
        events: StreamSettings::new(hour, two_min),
    };
    Topology {
        streams,
        consumers: ConsumerSettings {
            ack_wait: Duration::from_millis(1000),
            max_deliver: 2,
            max_ack_pending: 100,
        },
        ..Topology::new([WORKFLOW, DYING], Vec::<String>::new())
    }
}

fn options() -> ConsumeOptions {
    ConsumeOptions {
        concurrency: 4,
        fetch_wait: Duration::from_millis(300),
        grace: Duration::from_secs(2),
        backoff: Backoff {
            base: Duration::from_millis(20),
            max: Duration::from_millis(100),
        },
        progress_every: None,
    }
}
