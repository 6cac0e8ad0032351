//! Shared set-up: a provisioned prefix, a ledger, the notifier in-process.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use async_nats::jetstream::message::StreamMessage;
use chrono::Utc;
use serde_json::{Value, json};
use sluice_bus::{Bus, ConsumerSettings, StreamSettings, StreamsConfig, Topology};
use sluice_core::pipeline::{ActionRecord, GateDecision, Verdict};
use sluice_core::subjects::StreamKind;
use sluice_core::{CorrelationId, Envelope, Stage, State};
use sluice_ledger::{JournalEntry, KeyRecord};
use sluice_notifier::{ChannelOptions, LedgerOptions, Options, Service};
use sluice_testkit::{TestDb, TestLedger, TestNats, eventually, pipeline};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const WORKFLOW: &str = "reservation";
pub const WAIT: Duration = Duration::from_secs(15);
pub const MAX_DELIVER: u32 = 3;

pub struct Env {
    pub nats: TestNats,
    pub bus: Bus,
    pub ledger: TestLedger,
    _db: TestDb,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<(), sluice_notifier::Error>>>,
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
            max_deliver: MAX_DELIVER,
            max_ack_pending: 100,
        },
        // The service consumes every shipped workflow.
        ..Topology::new([WORKFLOW, "crm-enrichment"], ["whatsapp"])
    }
}

impl Env {
    /// Provisions a prefix and runs the notifier with the `whatsapp` channel
    /// pointing at `outbound` (`http://<addr>/v1/messages`).
    pub async fn start(outbound: SocketAddr) -> Self {
        let nats = TestNats::new().await.unwrap();
        let bus = Bus::new(nats.client.clone(), nats.subjects.clone());
        bus.provision(&topology()).await.unwrap();
        let db = TestDb::new().await.unwrap();
        let ledger = TestLedger::start(&db).await.unwrap();
        let whatsapp = ChannelOptions::Http {
            url: format!("http://{outbound}/v1/messages"),
            timeout_ms: 2_000,
            honours_idempotency_key: false,
            recipient_field: "sender".into(),
        };
        let mut options = Options {
            workflows_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows"),
            http_listen: None,
            ledger: LedgerOptions {
                url: format!("http://{}", ledger.addr),
                ..LedgerOptions::default()
            },
            channels: BTreeMap::from([("whatsapp".to_owned(), whatsapp)]),
            fetch_wait_ms: 200,
            retry_base_ms: 50,
            retry_max_ms: 200,
            ..Options::default()
        };
        options.nats.url = nats.url.clone();
        options.nats.prefix = nats.subjects.prefix().to_owned();
        let service = Service::new(options).await.unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(service.run(shutdown.clone()));
        Self {
            nats,
            bus,
            ledger,
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

    /// Records the execution from RECEIVED along `path`.
    pub async fn record(&self, envelope: &Envelope, path: &[State]) {
        pipeline::record_path(&self.ledger.client, envelope, path)
            .await
            .unwrap();
    }

    /// Publishes `envelope` to the notify stage (generation 0).
    pub async fn publish(&self, envelope: &Envelope) {
        self.bus
            .publisher()
            .envelope_to_stage(envelope, Stage::Notify, "0", None)
            .await
            .unwrap();
    }

    /// The ledger's record of the confirmation key of `envelope`'s first
    /// delivery.
    pub async fn confirmation_key(&self, envelope: &Envelope) -> KeyRecord {
        let key = format!("{}:notify:0", envelope.execution_id);
        self.ledger.client.get_key(&key).await.unwrap()
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

    /// Waits until the notify consumer has nothing pending or unacked.
    pub async fn drained(&self) {
        let consumer = self
            .nats
            .subjects
            .consumer(Stage::Notify, WORKFLOW)
            .unwrap();
        let stream = self.nats.subjects.stream(StreamKind::Pipeline);
        eventually("notify consumer drained", WAIT, || async {
            let s = self.nats.jetstream.get_stream(&stream).await?;
            let info = s.consumer_info(&consumer).await?;
            eventually::check(info.num_pending == 0 && info.num_ack_pending == 0, || {
                format!(
                    "pending {} unacked {}",
                    info.num_pending, info.num_ack_pending
                )
            })
        })
        .await
        .unwrap();
    }

    /// Every message stored under `subject` in the stream of `kind`.
    pub async fn messages(&self, kind: StreamKind, subject: &str) -> Vec<StreamMessage> {
        pipeline::stored(&self.nats, kind, subject).await.unwrap()
    }

    pub async fn events(&self, state: State) -> Vec<Value> {
        pipeline::events(&self.nats, state, WORKFLOW).await.unwrap()
    }

    pub async fn wait_events(&self, state: State, n: usize) -> Vec<Value> {
        eventually(&format!("{n} {state} events"), WAIT, || async {
            let found = self.events(state).await;
            eventually::check(found.len() == n, || format!("{}", found.len()))?;
            Ok(found)
        })
        .await
        .unwrap()
    }
}

/// RECEIVED … VERIFIED: where the executor leaves a reservation (its
/// booking is read back before the guest is told).
pub const TO_VERIFIED: &[State] = &[
    State::Received,
    State::Validated,
    State::ModelRequested,
    State::ModelCompleted,
    State::OutputValidated,
    State::GateDecided,
    State::AutoActionPending,
    State::Executing,
    State::ActionCompleted,
    State::Verified,
];

/// RECEIVED … CLARIFICATION_REQUESTED.
pub const TO_CLARIFICATION: &[State] = &[
    State::Received,
    State::Validated,
    State::ModelRequested,
    State::ModelCompleted,
    State::OutputValidated,
    State::GateDecided,
    State::ClarificationRequested,
];

fn base(contract: Value, decision: GateDecision) -> Envelope {
    let event_id = sluice_testkit::unique_token();
    let data = json!({"id": event_id, "from": "+34600000000", "text": "a table"});
    let mut e = Envelope::new(
        "whatsapp",
        event_id,
        WORKFLOW,
        CorrelationId::generate(),
        Utc::now(),
        data,
    );
    e.interpretation = Some(pipeline::interpretation(contract, 0.95, "create_booking"));
    e.decision = Some(decision);
    e
}

/// An envelope as the executor hands it over after booking `bk-42`.
pub fn booked() -> Envelope {
    let contract = json!({
        "channel": "whatsapp", "message_id": "wamid.1", "sender": "+34600000000",
        "party_size": 4, "date": "2026-11-24", "time": "21:00", "action": "create_booking"
    });
    let decision = GateDecision {
        verdict: Verdict::Auto,
        action: Some("create_booking".into()),
        rules: Vec::new(),
        missing: Vec::new(),
        summary: "auto".into(),
        offers: Vec::new(),
        context: Vec::new(),
    };
    let mut e = base(contract, decision);
    e.actions.push(ActionRecord {
        action: "create_booking".into(),
        key: "reservation:whatsapp:wamid.1".into(),
        external_id: Some("bk-42".into()),
        response: json!({"status": 201}),
        prevented_duplicate: false,
    });
    e
}

/// An envelope as the gate hands it over to ask for the party size.
pub fn clarification() -> Envelope {
    let contract = json!({
        "channel": "whatsapp", "message_id": "wamid.2", "sender": "+34600000000",
        "date": "2026-11-24", "time": "21:00", "action": "create_booking"
    });
    let decision = GateDecision {
        verdict: Verdict::Clarify,
        action: None,
        rules: Vec::new(),
        missing: vec!["party_size".into()],
        summary: "clarify: need party_size".into(),
        offers: Vec::new(),
        context: Vec::new(),
    };
    base(contract, decision)
}
