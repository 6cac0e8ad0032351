//! One interpreter in-process per test: its own NATS prefix, database,
//! ledger, fake model and copy of the reservation workflow.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, TimeZone as _, Utc};
use serde_json::{Value, json};
use sluice_bus::{
    Backoff, Bus, ConsumeOptions, ConsumerSettings, StreamSettings, StreamsConfig, Topology,
};
use sluice_core::subjects::StreamKind;
use sluice_core::{CorrelationId, Envelope, Stage, State, WorkflowSpec};
use sluice_interpreter::{LoadedWorkflow, ModelOptions, Options, Registry, Service};
use sluice_ledger::{JournalEntry, Origin, Transition};
use sluice_testkit::fake_model::{FakeModel, prompt_hash};
use sluice_testkit::{TestDb, TestLedger, TestNats};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const WORKFLOW: &str = "reservation";
pub const SENDER: &str = "+34600000001";

/// How the test's copy of the workflow differs from the shipped one.
pub struct Variant {
    pub backend: &'static str,
    pub fallback: bool,
    pub timeout_ms: u64,
    /// An interpreter-stage context provider at this URL (a template over
    /// the payload), shown to the model in the prompt's `{{context}}`.
    pub context_url: Option<String>,
}

impl Variant {
    pub fn model() -> Self {
        Self {
            backend: "fake",
            fallback: true,
            timeout_ms: 5000,
            context_url: None,
        }
    }
    pub fn shipped() -> Self {
        Self {
            backend: "rules",
            fallback: true,
            timeout_ms: 15000,
            context_url: None,
        }
    }
}

pub struct Env {
    pub nats: TestNats,
    pub bus: Bus,
    pub ledger: TestLedger,
    pub fake: FakeModel,
    pub dir: PathBuf,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<sluice_bus::Stopped, sluice_interpreter::Error>>>,
    _db: TestDb,
}

fn shipped_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows/reservation")
}

/// Writes the variant of the reservation workflow into a fresh folder.
fn workflow_copy(variant: &Variant) -> anyhow::Result<PathBuf> {
    let root =
        std::env::temp_dir().join(format!("sluice-interp-{}", sluice_testkit::unique_token()));
    let dir = root.join(WORKFLOW);
    std::fs::create_dir_all(&dir)?;
    for file in ["prompt.v1.md", "contract.schema.json"] {
        std::fs::copy(shipped_dir().join(file), dir.join(file))?;
    }
    let spec = std::fs::read_to_string(shipped_dir().join("workflow.toml"))?;
    let mut out = Vec::new();
    for line in spec.lines() {
        if line.starts_with("backend = ") {
            out.push(format!("backend = \"{}\"", variant.backend));
        } else if line.starts_with("fallback = ") {
            if variant.fallback {
                out.push(line.to_owned());
            }
        } else if line.starts_with("timeout_ms = ")
            && out.iter().any(|l: &String| l == "[interpret]")
            && !out.iter().any(|l| l.starts_with("[gate"))
        {
            out.push(format!("timeout_ms = {}", variant.timeout_ms));
        } else {
            out.push(line.to_owned());
        }
    }
    if let Some(url) = &variant.context_url {
        out.push(format!(
            "\n[[context]]\nname = \"guest\"\nkind = \"http\"\nstage = \"interpret\"\n\
             url = \"{url}\"\ntimeout_ms = 500\nretries = 0\n"
        ));
        let prompt = std::fs::read_to_string(dir.join("prompt.v1.md"))?;
        std::fs::write(
            dir.join("prompt.v1.md"),
            format!("{prompt}\nWhat the CRM knows about the guest: {{{{context}}}}\n"),
        )?;
    }
    std::fs::write(dir.join("workflow.toml"), out.join("\n"))?;
    Ok(root)
}

impl Env {
    pub async fn start(variant: Variant) -> anyhow::Result<Self> {
        let nats = TestNats::new().await?;
        let bus = Bus::new(nats.client.clone(), nats.subjects.clone());
        bus.provision(&topology()).await?;
        let db = TestDb::new().await?;
        let ledger = TestLedger::start(&db).await?;
        let fake = FakeModel::start().await?;
        let dir = workflow_copy(&variant)?;
        let mut options = Options {
            workflows_dir: dir.clone(),
            ..Options::default()
        };
        options.ledger.url = format!("http://{}", ledger.addr);
        options.models.insert(
            "fake".into(),
            ModelOptions {
                base_url: fake.url(),
                model: "fake-1".into(),
                api_key_env: Some("TEST_MODEL_KEY".into()),
                prompt_price_per_1k: 0.001,
                completion_price_per_1k: 0.002,
                ..ModelOptions::default()
            },
        );
        let env = [("TEST_MODEL_KEY".to_owned(), "sk-test".to_owned())];
        let service = Service::with_bus(options, env, bus.clone(), Registry::with_builtin())
            .await?
            .with_consume_options(consume_options());
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(service.run(shutdown.clone()));
        Ok(Self {
            nats,
            bus,
            ledger,
            fake,
            dir,
            shutdown,
            task: Some(task),
            _db: db,
        })
    }

    /// The loaded workflow, to render the exact prompt the stage will send.
    pub fn workflow(&self) -> LoadedWorkflow {
        let dir = self.dir.join(WORKFLOW);
        let spec = WorkflowSpec::load(&dir).unwrap();
        let mut models = sluice_interpreter::workflow::ModelBackends::new();
        models.insert(
            "fake".into(),
            (
                ModelOptions {
                    base_url: self.fake.url(),
                    ..ModelOptions::default()
                },
                None,
            ),
        );
        LoadedWorkflow::load(&dir, spec, &Registry::with_builtin(), &models).unwrap()
    }

    /// SHA-256 of the user prompt the stage renders for `envelope`.
    pub fn prompt_hash_for(&self, envelope: &Envelope) -> String {
        let w = self.workflow();
        let now = envelope.received_at.with_timezone(&w.timezone);
        let context = serde_json::Map::new();
        prompt_hash(&w.request(envelope, None, now, &context).messages[1].content)
    }

    /// Records RECEIVED and VALIDATED (ingest's part) and publishes to interpret.
    pub async fn submit(&self, envelope: &Envelope, generation: &str) -> anyhow::Result<()> {
        let client = &self.ledger.client;
        let origin = Origin {
            workflow: WORKFLOW.into(),
            source: envelope.source.clone(),
            event_id: envelope.event_id.clone(),
            correlation_id: envelope.correlation_id.as_str().to_owned(),
        };
        for (from, to) in [
            (None, State::Received),
            (Some(State::Received), State::Validated),
        ] {
            let t = Transition {
                execution_id: envelope.execution_id,
                from,
                to,
                stage: "ingest".into(),
                generation: "0".into(),
                detail: None,
                exception_reason: None,
                final_outcome: None,
                origin: origin.clone(),
            };
            client.record_transition(&t).await?;
        }
        self.republish(envelope, generation).await
    }

    pub async fn republish(&self, envelope: &Envelope, generation: &str) -> anyhow::Result<()> {
        self.bus
            .publisher()
            .envelope_to_stage(envelope, Stage::Interpret, generation, None)
            .await?;
        Ok(())
    }

    /// The last envelope handed to the gate, if any.
    pub async fn at_gate(&self) -> anyhow::Result<Option<(Envelope, String)>> {
        let subject = self.nats.subjects.stage(Stage::Gate, WORKFLOW)?;
        let stream = self
            .nats
            .jetstream
            .get_stream(self.nats.subjects.stream(StreamKind::Pipeline))
            .await?;
        match stream.get_last_raw_message_by_subject(&subject).await {
            Ok(m) => {
                let generation = m
                    .headers
                    .get(sluice_core::headers::GENERATION)
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default();
                Ok(Some((Envelope::decode(&m.payload)?, generation)))
            }
            Err(_) => Ok(None),
        }
    }

    /// Waits for the gate to receive `envelope`'s execution on `generation`.
    pub async fn wait_at_gate(
        &self,
        envelope: &Envelope,
        generation: &str,
    ) -> anyhow::Result<Envelope> {
        sluice_testkit::eventually("envelope at the gate", Duration::from_secs(20), || async {
            let found = self.at_gate().await?;
            match found {
                Some((e, g)) if e.execution_id == envelope.execution_id && g == generation => Ok(e),
                _ => anyhow::bail!("not yet at the gate"),
            }
        })
        .await
    }

    /// Waits until the execution is in `state`; returns its journal.
    pub async fn wait_for(
        &self,
        envelope: &Envelope,
        state: State,
    ) -> anyhow::Result<Vec<JournalEntry>> {
        let wait = Duration::from_secs(20);
        sluice_testkit::pipeline::wait_for_state(&self.ledger.client, envelope, state, wait).await
    }

    pub async fn state_and_journal(
        &self,
        envelope: &Envelope,
    ) -> anyhow::Result<(String, Vec<JournalEntry>)> {
        let (execution, journal) = self
            .ledger
            .client
            .get_execution(envelope.execution_id)
            .await?;
        Ok((execution.state, journal))
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(15), task).await???;
        }
        self.fake.stop();
        self.nats.cleanup().await?;
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(())
    }
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
            ack_wait: Duration::from_secs(10),
            max_deliver: 5,
            max_ack_pending: 100,
        },
        ..Topology::new([WORKFLOW], Vec::<String>::new())
    }
}

fn consume_options() -> ConsumeOptions {
    ConsumeOptions {
        concurrency: 4,
        fetch_wait: Duration::from_millis(300),
        grace: Duration::from_secs(5),
        backoff: Backoff {
            base: Duration::from_millis(20),
            max: Duration::from_millis(200),
        },
        progress_every: None,
    }
}

/// Monday 23 November 2026, 18:00 in Madrid: the frozen reference time.
pub fn frozen_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 17, 0, 0)
        .single()
        .unwrap()
}

/// A WhatsApp message as ingest accepted it.
pub fn message(text: &str) -> Envelope {
    let id = format!("wamid.{}", sluice_testkit::unique_token());
    Envelope::new(
        "whatsapp",
        id.clone(),
        WORKFLOW,
        CorrelationId::generate(),
        frozen_now(),
        json!({"id": id, "from": SENDER, "name": "Ana", "text": text}),
    )
}

/// A valid contract for `envelope` as a model would write it.
pub fn valid_contract(envelope: &Envelope) -> Value {
    json!({
        "channel": "whatsapp",
        "message_id": envelope.data["id"],
        "sender": SENDER,
        "name": "Ana",
        "party_size": 4,
        "date": "2026-11-24",
        "time": "21:00",
        "action": "create_booking",
        "notes": null,
    })
}

/// The `to` states of a journal, in order.
pub fn path(journal: &[JournalEntry]) -> Vec<String> {
    journal.iter().map(|j| j.to_state.clone()).collect()
}
