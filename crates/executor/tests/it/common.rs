//! One executor test environment: broker prefix, ledger, booking service.

use std::path::Path;
use std::time::Duration;

use async_nats::jetstream::message::StreamMessage;
use booking_service::{BookingService, Options as BookingOptions};
use serde_json::{Value, json};
use sluice_bus::{Bus, ConsumerSettings, StreamSettings, StreamsConfig, Topology};
use sluice_core::pipeline::{GateDecision, Verdict};
use sluice_core::subjects::StreamKind;
use sluice_core::workflow::AmbiguityPolicy;
use sluice_core::{CorrelationId, Envelope, Stage, State, WorkflowSpec};
use sluice_executor::{Executor, Failpoint, LedgerOptions, Options};
use sluice_ledger::{BeginOutcome, BeginRequest, KeyRecord};
use sluice_testkit::{TestDb, TestLedger, TestNats, eventually, pipeline};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const WORKFLOW: &str = "reservation";

/// What ingest, the interpreter and the gate record before the executor.
pub const TO_AUTO_ACTION_PENDING: [State; 7] = [
    State::Received,
    State::Validated,
    State::ModelRequested,
    State::ModelCompleted,
    State::OutputValidated,
    State::GateDecided,
    State::AutoActionPending,
];
pub const WAIT: Duration = Duration::from_secs(20);

/// How a test wants the world.
#[derive(Clone)]
pub struct Setup {
    pub honour: bool,
    pub failpoint: Option<Failpoint>,
    pub lease_ms: u64,
    pub timeout_ms: i64,
    pub on_ambiguous: AmbiguityPolicy,
    /// Whether `Env::start` runs an executor in-process (the process-kill
    /// tests run the binary first and add one later with `Env::spawn`).
    pub in_process: bool,
    /// How long the broker waits for an ack before redelivering: what
    /// brings a killed executor's message back.
    pub ack_wait: Duration,
    /// Where bookings are read back from; `None`: the booking service.
    pub verify_url: Option<String>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            honour: false,
            failpoint: None,
            lease_ms: 10_000,
            timeout_ms: 2_000,
            on_ambiguous: AmbiguityPolicy::Review,
            in_process: true,
            ack_wait: Duration::from_secs(10),
            verify_url: None,
        }
    }
}

pub struct Env {
    pub nats: TestNats,
    pub bus: Bus,
    pub ledger: TestLedger,
    pub booking: BookingService,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
    executor: Option<JoinHandle<sluice_executor::Result<sluice_bus::Stopped>>>,
    _dbs: (TestDb, TestDb),
}

impl Env {
    pub async fn start(setup: Setup) -> anyhow::Result<Self> {
        let nats = TestNats::new().await?;
        let bus = Bus::new(nats.client.clone(), nats.subjects.clone());
        bus.provision(&topology(WORKFLOW, setup.ack_wait)).await?;
        let ledger_db = TestDb::new().await?;
        let ledger = TestLedger::start(&ledger_db).await?;
        let booking_db = TestDb::new().await?;
        let shutdown = CancellationToken::new();
        let booking = BookingService::spawn(
            BookingOptions {
                database_url: booking_db.url.clone(),
                listen: "127.0.0.1:0".parse()?,
                honour_idempotency_keys: setup.honour,
                ..BookingOptions::default()
            },
            shutdown.clone(),
        )
        .await?;
        let options = Options {
            lease_ms: setup.lease_ms,
            failpoint: setup.failpoint,
            ..options(&nats, &ledger)
        };
        let mut env = Self {
            nats,
            bus,
            ledger,
            booking,
            http: reqwest::Client::new(),
            shutdown,
            executor: None,
            _dbs: (ledger_db, booking_db),
        };
        if setup.in_process {
            let workflows = vec![workflow(&setup, &env.booking)?];
            env.spawn(Executor::with_workflows(options, workflows).await?);
        }
        Ok(env)
    }

    /// Runs `executor` in-process until `stop`.
    pub fn spawn(&mut self, executor: Executor) {
        self.executor = Some(tokio::spawn(executor.run(self.shutdown.clone())));
    }

    /// Records the execution up to `AUTO_ACTION_PENDING` (what ingest,
    /// interpreter and gate would have done) and publishes it to `execute`.
    pub async fn submit(&self, contract: Value) -> anyhow::Result<Envelope> {
        self.submit_at(contract, State::AutoActionPending).await
    }

    /// Records the execution up to `upto` (a state on the way to
    /// `AUTO_ACTION_PENDING`) and publishes it to `execute` already, as a
    /// hand-off that overtook the gate's last move would arrive.
    pub async fn submit_at(&self, contract: Value, upto: State) -> anyhow::Result<Envelope> {
        let envelope = envelope(contract);
        let path: Vec<State> = TO_AUTO_ACTION_PENDING
            .into_iter()
            .take_while(|s| *s <= upto)
            .collect();
        pipeline::record_path(&self.ledger.client, &envelope, &path).await?;
        self.publish(&envelope, "0").await?;
        Ok(envelope)
    }

    pub async fn publish(&self, envelope: &Envelope, generation: &str) -> anyhow::Result<()> {
        self.bus
            .publisher()
            .envelope_to_stage(envelope, Stage::Execute, generation, None)
            .await?;
        Ok(())
    }

    pub async fn state(&self, envelope: &Envelope) -> anyhow::Result<(String, Vec<String>)> {
        let (execution, journal) = self
            .ledger
            .client
            .get_execution(envelope.execution_id)
            .await?;
        Ok((
            execution.state,
            journal.into_iter().map(|j| j.to_state).collect(),
        ))
    }

    pub async fn wait_state(
        &self,
        envelope: &Envelope,
        state: State,
    ) -> anyhow::Result<Vec<String>> {
        eventually(&format!("execution in {state}"), WAIT, || async {
            let (now, journal) = self.state(envelope).await?;
            eventually::check(now == state.as_str(), || {
                format!("state {now}, journal {journal:?}")
            })?;
            Ok(journal)
        })
        .await
    }

    pub async fn key(&self, key: &str) -> anyhow::Result<KeyRecord> {
        Ok(self.ledger.client.get_key(key).await?)
    }

    /// What the ledger answers a fresh Begin on `key` with the same arguments.
    pub async fn begin_answer(
        &self,
        key: &str,
        contract: &Value,
        honours: bool,
    ) -> anyhow::Result<BeginOutcome> {
        Ok(self
            .ledger
            .client
            .begin(&BeginRequest {
                key: key.into(),
                fingerprint: request_fingerprint(contract)?,
                owner: "test-probe".into(),
                lease: Duration::from_secs(1),
                execution_id: None,
                target_honours_keys: honours,
                supersede_review: None,
            })
            .await?)
    }

    pub async fn booking_counts(&self) -> anyhow::Result<Value> {
        let url = format!("{}/bookings/counts", self.booking.url());
        Ok(self.http.get(url).send().await?.json().await?)
    }

    pub async fn faults(&self, faults: Value) -> anyhow::Result<()> {
        let url = format!("{}/admin/faults", self.booking.url());
        self.http
            .post(url)
            .json(&faults)
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// The last message on `<prefix>.stage.notify.reservation`.
    pub async fn notified(&self) -> anyhow::Result<(StreamMessage, Envelope)> {
        let stream = self
            .nats
            .jetstream
            .get_stream(self.nats.subjects.stream(StreamKind::Pipeline))
            .await?;
        let subject = self.nats.subjects.stage(Stage::Notify, WORKFLOW)?;
        let message = stream.get_last_raw_message_by_subject(&subject).await?;
        let envelope = Envelope::decode(&message.payload)?;
        Ok((message, envelope))
    }

    /// The execute stage consumer's state (pending and unacked messages).
    pub async fn execute_consumer_info(
        &self,
    ) -> anyhow::Result<async_nats::jetstream::consumer::Info> {
        let stream = self
            .nats
            .jetstream
            .get_stream(self.nats.subjects.stream(StreamKind::Pipeline))
            .await?;
        let name = self.nats.subjects.consumer(Stage::Execute, WORKFLOW)?;
        let mut consumer: async_nats::jetstream::consumer::PullConsumer = stream
            .get_consumer(&name)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(consumer.info().await?.clone())
    }

    /// Waits for the notify hand-off of `envelope` published under
    /// `generation` (its `Nats-Msg-Id`), and returns what it carries.
    pub async fn notified_as(
        &self,
        envelope: &Envelope,
        generation: &str,
    ) -> anyhow::Result<Envelope> {
        let wanted = format!("{}:notify:{generation}", envelope.execution_id);
        eventually(&format!("notify message {wanted}"), WAIT, || async {
            let (m, e) = self.notified().await?;
            let id = m.headers.get("Nats-Msg-Id").map(|v| v.as_str().to_owned());
            eventually::check(id.as_deref() == Some(wanted.as_str()), || format!("{id:?}"))?;
            Ok(e)
        })
        .await
    }

    /// The announcements on `<prefix>.events.<state>.reservation`.
    pub async fn announced(&self, state: State) -> anyhow::Result<Value> {
        let stream = self
            .nats
            .jetstream
            .get_stream(self.nats.subjects.stream(StreamKind::Events))
            .await?;
        let subject = self.nats.subjects.event(state, WORKFLOW)?;
        let message = stream.get_last_raw_message_by_subject(&subject).await?;
        Ok(serde_json::from_slice(&message.payload)?)
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        if let Some(task) = self.executor.take() {
            tokio::time::timeout(Duration::from_secs(10), task).await???;
        }
        self.nats.cleanup().await?;
        Ok(())
    }
}

/// An in-process executor's options against this test's broker and ledger,
/// with short waits and fast retries.
pub fn options(nats: &TestNats, ledger: &TestLedger) -> Options {
    Options {
        nats: sluice_bus::NatsOptions {
            url: nats.url.clone(),
            prefix: nats.subjects.prefix().to_owned(),
            ..Default::default()
        },
        ledger: LedgerOptions {
            url: format!("http://{}", ledger.addr),
            ..LedgerOptions::default()
        },
        http_listen: None,
        concurrency: 4,
        fetch_wait_ms: 300,
        grace_ms: 2_000,
        retry_base_ms: 50,
        retry_max_ms: 500,
        ..Options::default()
    }
}

/// Streams with an hour's retention and `workflow`'s consumers.
pub fn topology(workflow: &str, ack_wait: Duration) -> Topology {
    let hour = Duration::from_secs(3600);
    let stream = StreamSettings::new(hour, Duration::from_secs(120));
    Topology {
        streams: StreamsConfig {
            ingest: stream,
            pipeline: stream,
            dead_letter: StreamSettings::new(hour, Duration::from_secs(600)),
            advisories: stream,
            events: stream,
        },
        consumers: ConsumerSettings {
            ack_wait,
            max_deliver: 30,
            max_ack_pending: 100,
        },
        ..Topology::new([workflow], Vec::<String>::new())
    }
}

/// The shipped reservation workflow, pointed at this test's booking service
/// with fast retries.
fn workflow(setup: &Setup, booking: &BookingService) -> anyhow::Result<WorkflowSpec> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows/reservation");
    let mut spec = WorkflowSpec::load(&dir)?;
    let action = &mut spec.actions[0];
    action.retry.initial_delay_ms = 20;
    action.retry.max_delay_ms = 200;
    action.on_ambiguous = setup.on_ambiguous;
    let s = &mut action.settings;
    s.insert("url".into(), format!("{}/bookings", booking.url()).into());
    s.insert(
        "probe_url".into(),
        format!("{}/bookings/by-key/{{key}}", booking.url()).into(),
    );
    let verify_url = setup
        .verify_url
        .clone()
        .unwrap_or_else(|| format!("{}/bookings/{{external_id}}", booking.url()));
    s.insert("verify_url".into(), verify_url.into());
    s.insert("timeout_ms".into(), setup.timeout_ms.into());
    s.insert("honours_idempotency_key".into(), setup.honour.into());
    Ok(spec)
}

pub fn contract(message_id: &str) -> Value {
    json!({
        "channel": "whatsapp",
        "message_id": message_id,
        "name": "Ana",
        "party_size": 4,
        "date": "2026-11-24",
        "time": "21:00",
        "sender": "34600000000",
        "action": "create_booking",
    })
}

/// The fingerprint the executor records: of the request body the shipped
/// workflow's `[actions.settings.body]` mapping renders from `contract`.
fn request_fingerprint(contract: &Value) -> anyhow::Result<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows/reservation");
    let spec = WorkflowSpec::load(&dir)?;
    let mapping: Option<std::collections::BTreeMap<String, String>> = spec.actions[0]
        .settings
        .get("body")
        .map(|body| body.clone().try_into())
        .transpose()?;
    let fields = sluice_executor::render::fields(contract, &Value::Null);
    let body = sluice_executor::render::body(mapping.as_ref(), contract, &fields)
        .map_err(anyhow::Error::msg)?;
    Ok(sluice_executor::render::fingerprint(&body))
}

pub fn key_of(message_id: &str) -> String {
    format!("reservation:whatsapp:{message_id}")
}

fn envelope(contract: Value) -> Envelope {
    let message_id = contract["message_id"].as_str().unwrap_or("m").to_owned();
    let mut envelope = Envelope::new(
        "whatsapp",
        message_id,
        WORKFLOW,
        CorrelationId::generate(),
        chrono::Utc::now(),
        json!({ "text": "A table for four tomorrow at nine." }),
    );
    envelope.interpretation = Some(pipeline::interpretation(contract, 0.95, "create_booking"));
    envelope.decision = Some(GateDecision {
        verdict: Verdict::Auto,
        action: Some("create_booking".into()),
        rules: Vec::new(),
        missing: Vec::new(),
        summary: "all rules passed".into(),
        offers: Vec::new(),
        context: Vec::new(),
    });
    envelope
}
