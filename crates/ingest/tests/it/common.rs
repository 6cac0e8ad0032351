//! Shared set-up: a provisioned NATS prefix, a fresh ledger, the ingest
//! service in-process on 127.0.0.1:0, and a signing webhook client.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use async_nats::jetstream::message::StreamMessage;
use sluice_bus::{Bus, ConsumerSettings, StreamSettings, StreamsConfig, Topology};
use sluice_core::subjects::StreamKind;
use sluice_core::{ExecutionId, Stage};
use sluice_ingest::signature::{self, Secret};
use sluice_ingest::{Options, Service};
use sluice_testkit::{TestDb, TestLedger, TestNats};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const SOURCE: &str = "whatsapp";
pub const WORKFLOW: &str = "reservation";
/// The current and the next secret of the shipped whatsapp source.
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const NEXT_SECRET: &str = "whsec_c2x1aWNlLWluZ2VzdC1maXh0dXJlLXNlY3JldC0zMmI=";
pub const UNKNOWN_SECRET: &str = "whsec_bm90LXRoZS1yaWdodC1zZWNyZXQtYXQtYWxs";
/// The secret of the shipped crm source (ingest needs one per webhook source).
pub const CRM_SECRET: &str = "whsec_c2x1aWNlLWNybS1maXh0dXJlLXNlY3JldC0wMDAwMDA=";

pub fn sources_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sources")
}

pub fn env() -> Vec<(String, String)> {
    vec![
        ("SLUICE_WHATSAPP_WEBHOOK_SECRET".into(), SECRET.into()),
        (
            "SLUICE_WHATSAPP_WEBHOOK_SECRET_NEXT".into(),
            NEXT_SECRET.into(),
        ),
        ("SLUICE_CRM_WEBHOOK_SECRET".into(), CRM_SECRET.into()),
    ]
}

/// Short limits; streams age out within the hour if a test dies early.
pub fn topology() -> Topology {
    let hour = Duration::from_secs(3600);
    let window = Duration::from_secs(120);
    let settings = StreamSettings::new(hour, window);
    Topology {
        streams: StreamsConfig {
            ingest: settings,
            pipeline: settings,
            dead_letter: settings,
            advisories: settings,
            events: settings,
        },
        consumers: ConsumerSettings {
            ack_wait: Duration::from_secs(5),
            max_deliver: 3,
            max_ack_pending: 100,
        },
        // Ingest attaches to the consumer of every shipped NATS source.
        ..Topology::new([WORKFLOW, "crm-enrichment"], [SOURCE, "crm"])
    }
}

/// Options for a service on `nats` (url, prefix) and the ledger at `ledger`.
pub fn options(nats_url: &str, prefix: &str, ledger: &str) -> Options {
    let mut options = Options {
        sources_dir: sources_dir(),
        http_listen: "127.0.0.1:0".parse().unwrap(),
        publish_timeout_ms: 2_000,
        retry_after_secs: 7,
        shutdown_grace_ms: 2_000,
        ..Options::default()
    };
    options.nats.url = nats_url.to_owned();
    options.nats.prefix = prefix.to_owned();
    options.ledger.url = ledger.to_owned();
    options.ledger.max_retries = Some(1);
    options.ledger.timeout_ms = Some(2_000);
    options
}

/// A running ingest service.
pub struct Running {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), sluice_ingest::Error>>,
}

impl Running {
    pub async fn start(options: Options) -> anyhow::Result<Self> {
        let bound = Service::new(options, env()).await?.bind().await?;
        let addr = bound.local_addr();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(bound.run(shutdown.clone()));
        Ok(Self {
            addr,
            http: reqwest::Client::new(),
            shutdown,
            task,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Posts `body` to the whatsapp source signed with `secret` now.
    pub async fn post(&self, id: &str, body: &str, secret: &str) -> reqwest::Response {
        let ts = chrono::Utc::now().timestamp();
        self.post_signed(id, ts, body, secret, &[]).await
    }

    pub async fn post_signed(
        &self,
        id: &str,
        ts: i64,
        body: &str,
        secret: &str,
        extra: &[(&str, &str)],
    ) -> reqwest::Response {
        let signature = signature::sign(&Secret::parse(secret).unwrap(), id, ts, body.as_bytes());
        let mut request = self
            .http
            .post(self.url(&format!("/v1/events/{SOURCE}")))
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature)
            .body(body.to_owned());
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task).await???;
        Ok(())
    }
}

/// Shared NATS + ledger + service.
pub struct Env {
    pub nats: TestNats,
    pub ledger: TestLedger,
    pub service: Running,
    _db: TestDb,
}

impl Env {
    pub async fn new() -> anyhow::Result<Self> {
        Self::with(|_| {}).await
    }

    pub async fn with(adjust: impl FnOnce(&mut Options)) -> anyhow::Result<Self> {
        Self::started(None, adjust).await
    }

    /// A ledger that takes only `tokens` (`token=role:name,…`); ingest
    /// calls it with `service_token`.
    pub async fn secured(
        tokens: &str,
        service_token: &str,
        adjust: impl FnOnce(&mut Options),
    ) -> anyhow::Result<Self> {
        Self::started(Some((tokens.parse()?, service_token)), adjust).await
    }

    async fn started(
        secured: Option<(sluice_ledger::TokenTable, &str)>,
        adjust: impl FnOnce(&mut Options),
    ) -> anyhow::Result<Self> {
        let nats = TestNats::new().await?;
        Bus::new(nats.client.clone(), nats.subjects.clone())
            .provision(&topology())
            .await?;
        let db = TestDb::new().await?;
        let (ledger, token) = match secured {
            Some((tokens, token)) => (
                TestLedger::start_with(&db, tokens, Some(token)).await?,
                Some(token.to_owned()),
            ),
            None => (TestLedger::start(&db).await?, None),
        };
        let mut options = options(
            &nats.url,
            nats.subjects.prefix(),
            &format!("http://{}", ledger.addr),
        );
        options.ledger.token = token;
        adjust(&mut options);
        let service = Running::start(options).await?;
        Ok(Self {
            nats,
            ledger,
            service,
            _db: db,
        })
    }

    pub async fn finish(self) -> anyhow::Result<()> {
        self.service.stop().await?;
        self.nats.cleanup().await
    }

    /// Messages stored in the stream of `kind`.
    pub async fn stream_count(&self, kind: StreamKind) -> anyhow::Result<u64> {
        stream_count(&self.nats.jetstream, &self.nats.subjects.stream(kind)).await
    }

    /// The interpret-stage message for the workflow, if any.
    pub async fn interpret_message(&self) -> anyhow::Result<StreamMessage> {
        let subject = self.nats.subjects.stage(Stage::Interpret, WORKFLOW)?;
        let stream = self
            .nats
            .jetstream
            .get_stream(self.nats.subjects.stream(StreamKind::Pipeline))
            .await?;
        Ok(stream.get_last_raw_message_by_subject(&subject).await?)
    }

    /// Whether the ledger knows the execution of `event_id`.
    pub async fn recorded(&self, event_id: &str) -> bool {
        let id = ExecutionId::derive(SOURCE, event_id, WORKFLOW);
        self.ledger.client.get_execution(id).await.is_ok()
    }
}

pub async fn stream_count(js: &async_nats::jetstream::Context, name: &str) -> anyhow::Result<u64> {
    let mut stream = js.get_stream(name).await?;
    Ok(stream.info().await?.state.messages)
}

/// A valid whatsapp payload.
pub fn payload(id: &str) -> String {
    serde_json::json!({
        "id": id,
        "from": "+31600000000",
        "name": "Ada",
        "text": "A table for four tomorrow at nine."
    })
    .to_string()
}

pub fn header(message: &StreamMessage, name: &str) -> Option<String> {
    message.headers.get(name).map(|v| v.as_str().to_owned())
}

/// A unique webhook id.
pub fn webhook_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}
