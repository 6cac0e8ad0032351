//! Shared set-up: a provisioned prefix, a ledger, the gate running in-process.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sluice_bus::{Bus, ConsumerSettings, StreamSettings, StreamsConfig, Topology};
use sluice_core::{CorrelationId, Envelope, Stage, State};
use sluice_gate::{Clock, LedgerOptions, Options, Service};
use sluice_ledger::JournalEntry;
use sluice_testkit::{TestDb, TestLedger, TestNats, eventually, pipeline};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const WORKFLOW: &str = "reservation";
pub const WAIT: Duration = Duration::from_secs(15);

/// 2026-11-23 18:00 in Madrid.
pub fn frozen_now() -> DateTime<Utc> {
    "2026-11-23T17:00:00Z".parse().unwrap()
}

/// What the availability stand-in answers, and after how long.
type Answer = Arc<Mutex<(Value, Duration)>>;

/// The booking system's availability API as the gate sees it: real HTTP,
/// answering what the test sets, after the delay the test sets.
#[derive(Clone)]
pub struct Availability {
    pub url: String,
    answer: Answer,
    calls: Arc<AtomicUsize>,
}

async fn availability(
    axum::extract::State(fake): axum::extract::State<Availability>,
) -> axum::Json<Value> {
    fake.calls.fetch_add(1, Ordering::SeqCst);
    let (value, delay) = fake.answer.lock().unwrap().clone();
    tokio::time::sleep(delay).await;
    axum::Json(value)
}

impl Availability {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = Self {
            url: format!("http://{}", listener.local_addr().unwrap()),
            answer: Arc::new(Mutex::new((
                json!({ "available": true, "alternatives": [] }),
                Duration::ZERO,
            ))),
            calls: Arc::new(AtomicUsize::new(0)),
        };
        let app = axum::Router::new()
            .route("/availability", axum::routing::get(availability))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        fake
    }

    /// Answers `value` from now on, after `delay`.
    pub fn answer(&self, value: Value, delay: Duration) {
        *self.answer.lock().unwrap() = (value, delay);
    }

    /// Requests taken so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

pub struct Env {
    pub nats: TestNats,
    pub bus: Bus,
    pub ledger: TestLedger,
    pub availability: Availability,
    _db: TestDb,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<(), sluice_gate::Error>>>,
}

pub fn shipped_workflows() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows")
}

/// A copy of the shipped workflows with `edit` applied to the reservation
/// spec's text.
pub fn edited_workflows(edit: impl FnOnce(String) -> String) -> PathBuf {
    let root = std::env::temp_dir().join(sluice_testkit::unique_token());
    let dir = root.join(WORKFLOW);
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(shipped_workflows().join(WORKFLOW).join("workflow.toml"));
    std::fs::write(dir.join("workflow.toml"), edit(text.unwrap())).unwrap();
    root
}

fn topology() -> Topology {
    let hour = Duration::from_secs(3600);
    let s = StreamSettings::new(hour, Duration::from_secs(120));
    Topology {
        streams: StreamsConfig {
            ingest: s,
            pipeline: s,
            dead_letter: s,
            advisories: s,
            events: s,
        },
        consumers: ConsumerSettings {
            ack_wait: Duration::from_secs(5),
            max_deliver: 5,
            max_ack_pending: 100,
        },
        // The service consumes every shipped workflow.
        ..Topology::new([WORKFLOW, "crm-enrichment"], ["whatsapp"])
    }
}

impl Env {
    pub async fn start() -> Self {
        Self::start_with(shipped_workflows()).await
    }

    pub async fn start_with(workflows_dir: PathBuf) -> Self {
        let nats = TestNats::new().await.unwrap();
        let bus = Bus::new(nats.client.clone(), nats.subjects.clone());
        bus.provision(&topology()).await.unwrap();
        let db = TestDb::new().await.unwrap();
        let ledger = TestLedger::start(&db).await.unwrap();
        let availability = Availability::start().await;
        let mut options = Options {
            workflows_dir,
            http_listen: None,
            ledger: LedgerOptions {
                url: format!("http://{}", ledger.addr),
                ..LedgerOptions::default()
            },
            fetch_wait_ms: 200,
            retry_base_ms: 50,
            retry_max_ms: 200,
            switch_pause_ms: 60_000,
            breaker_every_ms: 200,
            ..Options::default()
        };
        options.nats.url = nats.url.clone();
        options.nats.prefix = nats.subjects.prefix().to_owned();
        options.context_urls.insert(
            "availability".into(),
            format!(
                "{}/availability?date={{date}}&time={{time}}&party_size={{party_size}}",
                availability.url
            ),
        );
        let service = Service::new(options)
            .await
            .unwrap()
            .with_clock(Clock::frozen(frozen_now()));
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(service.run(shutdown.clone()));
        Self {
            nats,
            bus,
            ledger,
            availability,
            _db: db,
            shutdown,
            task: Some(task),
        }
    }

    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        self.nats.cleanup().await.unwrap();
    }

    /// Records RECEIVED … OUTPUT_VALIDATED for `envelope`, as ingest and the
    /// interpreter would.
    pub async fn record_until_validated(&self, envelope: &Envelope) {
        let path = [
            State::Received,
            State::Validated,
            State::ModelRequested,
            State::ModelCompleted,
            State::OutputValidated,
        ];
        pipeline::record_path(&self.ledger.client, envelope, &path)
            .await
            .unwrap();
    }

    /// Records the execution and publishes it to the gate stage.
    pub async fn submit(&self, envelope: &Envelope) {
        self.record_until_validated(envelope).await;
        self.bus
            .publisher()
            .envelope_to_stage(envelope, Stage::Gate, "0", None)
            .await
            .unwrap();
    }

    pub async fn state(&self, envelope: &Envelope) -> (String, Vec<JournalEntry>) {
        pipeline::state_of(&self.ledger.client, envelope)
            .await
            .unwrap()
    }

    /// Waits until the execution reaches `state`; returns its journal.
    pub async fn wait_for(&self, envelope: &Envelope, state: State) -> Vec<JournalEntry> {
        pipeline::wait_for_state(&self.ledger.client, envelope, state, WAIT)
            .await
            .unwrap()
    }

    pub async fn stage_messages(&self, stage: Stage) -> Vec<Envelope> {
        pipeline::stage_envelopes(&self.nats, stage, WORKFLOW)
            .await
            .unwrap()
    }

    pub async fn events(&self, state: State) -> Vec<Value> {
        pipeline::events(&self.nats, state, WORKFLOW).await.unwrap()
    }
}

pub fn contract() -> Value {
    json!({
        "channel": "whatsapp", "message_id": "wamid.1", "sender": "+34600000000",
        "name": "Ana", "party_size": 4, "date": "2026-11-24", "time": "21:00",
        "action": "create_booking"
    })
}

/// An envelope as the interpreter hands it to the gate.
pub fn envelope(text: &str, contract: Value, confidence: f64, action: &str) -> Envelope {
    let event_id = sluice_testkit::unique_token();
    let data = json!({"id": event_id, "from": "+34600000000", "text": text});
    let mut envelope = Envelope::new(
        "whatsapp",
        event_id,
        WORKFLOW,
        CorrelationId::generate(),
        Utc::now(),
        data,
    );
    let field_confidence = contract
        .as_object()
        .map(|o| o.keys().map(|k| (k.clone(), confidence)).collect())
        .unwrap_or_default();
    let mut interpretation = pipeline::interpretation(contract, confidence, action);
    interpretation.field_confidence = field_confidence;
    envelope.interpretation = Some(interpretation);
    envelope
}

pub fn happy() -> Envelope {
    envelope(
        "I would like a table for four tomorrow at nine.",
        contract(),
        0.95,
        "create_booking",
    )
}

/// The decision recorded with `GATE_DECIDED`.
pub fn decision(journal: &[JournalEntry]) -> sluice_core::pipeline::GateDecision {
    let entry = journal
        .iter()
        .find(|e| e.to_state == "GATE_DECIDED")
        .expect("GATE_DECIDED journalled");
    serde_json::from_value(entry.detail.clone().expect("detail")).expect("a GateDecision")
}

/// The states of a journal, oldest first.
pub fn states(journal: &[JournalEntry]) -> Vec<&str> {
    journal.iter().map(|e| e.to_state.as_str()).collect()
}

/// Waits until `stage` holds `n` messages of the workflow.
pub async fn eventually_len(env: &Env, stage: Stage, n: usize) -> Vec<Envelope> {
    eventually(&format!("{n} {stage} messages"), WAIT, || async {
        let found = env.stage_messages(stage).await;
        eventually::check(found.len() == n, || format!("{}", found.len()))?;
        Ok(found)
    })
    .await
    .unwrap()
}

/// Waits until `n` events announce `state`.
pub async fn eventually_events(env: &Env, state: State, n: usize) -> Vec<Value> {
    eventually(&format!("{n} {state} events"), WAIT, || async {
        let found = env.events(state).await;
        eventually::check(found.len() == n, || format!("{}", found.len()))?;
        Ok(found)
    })
    .await
    .unwrap()
}
