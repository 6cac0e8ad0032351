//! A whole Sluice stack per test: a private prefix on the test broker, fresh
//! databases for the ledger and the booking service, every service started
//! in-process through `sluice dev`'s wiring, and a signed-webhook client.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{Value, json};
use sluice_bus::{ConsumerSettings, StreamSettings, StreamsConfig};
use sluice_cli::dev::{Stack, StackOptions, stack::default_topology};
use sluice_ingest::signature::{Secret, sign};
use sluice_testkit::eventually::{check, eventually};
use sluice_testkit::{TestDb, TestNats};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// The crm source's own secret.
const CRM_SECRET: &str = "whsec_c2x1aWNlLWNybS1maXh0dXJlLXNlY3JldC0wMDAwMDA=";

pub struct Env {
    pub nats: TestNats,
    pub stack: Stack,
    http: reqwest::Client,
    secret: Secret,
    /// The example CRM's database.
    pub crm_db: TestDb,
    _dbs: (TestDb, TestDb),
}

pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

impl Env {
    /// A stack whose streams forget `Nats-Msg-Id`s after `dedupe_window`.
    pub async fn start(dedupe_window: Duration) -> anyhow::Result<Self> {
        Self::start_in(dedupe_window, repo("workflows")).await
    }

    /// A stack over the workflows declared in `workflows_dir`.
    pub async fn start_in(dedupe_window: Duration, workflows_dir: PathBuf) -> anyhow::Result<Self> {
        let nats = TestNats::new().await?;
        Self::start_with(nats, dedupe_window, workflows_dir, |_| {}).await
    }

    /// A stack on `nats` (its URL and prefix) whose options `edit` may
    /// change before it starts (per-service NATS users, replicas).
    pub async fn start_with(
        nats: TestNats,
        dedupe_window: Duration,
        workflows_dir: PathBuf,
        edit: impl FnOnce(&mut StackOptions),
    ) -> anyhow::Result<Self> {
        let (ledger_db, booking_db) = (TestDb::new().await?, TestDb::new().await?);
        let crm_db = TestDb::new().await?;
        let any = "127.0.0.1:0".parse()?;
        let mut options = StackOptions {
            nats: sluice_bus::NatsOptions {
                url: nats.url.clone(),
                prefix: nats.subjects.prefix().to_owned(),
                ..Default::default()
            },
            service_nats: Default::default(),
            ledger_database_url: ledger_db.url.clone(),
            booking_database_url: booking_db.url.clone(),
            crm_database_url: crm_db.url.clone(),
            workflows_dir,
            sources_dir: repo("sources"),
            ingest_listen: any,
            booking_listen: any,
            ledger_listen: any,
            honour_idempotency_keys: false,
            env: vec![
                ("SLUICE_WHATSAPP_WEBHOOK_SECRET".into(), SECRET.into()),
                ("SLUICE_CRM_WEBHOOK_SECRET".into(), CRM_SECRET.into()),
            ],
            models: Default::default(),
            topology: None,
            executor_failpoint: None,
            metrics_listen: Some(any),
            ledger_tokens: Default::default(),
            console_listen: None,
        };
        let hour = Duration::from_secs(3600);
        let short = StreamSettings::new(hour, dedupe_window);
        options.topology = Some(sluice_bus::Topology {
            streams: StreamsConfig {
                ingest: short,
                pipeline: short,
                dead_letter: StreamSettings::new(hour, Duration::from_secs(600)),
                advisories: short,
                events: short,
            },
            consumers: ConsumerSettings {
                ack_wait: Duration::from_secs(5),
                max_deliver: 5,
                max_ack_pending: 100,
            },
            ..default_topology(&options)?
        });
        edit(&mut options);
        let stack = Stack::start(options).await?;
        Ok(Self {
            nats,
            stack,
            http: reqwest::Client::new(),
            secret: Secret::parse(SECRET)?,
            crm_db,
            _dbs: (ledger_db, booking_db),
        })
    }

    /// Posts a signed WhatsApp webhook; returns the status and JSON body.
    pub async fn send(&self, webhook_id: &str, message: &Value) -> anyhow::Result<(u16, Value)> {
        self.send_with(webhook_id, message, &[]).await
    }

    /// Posts a signed WhatsApp webhook with `extra` headers (`traceparent`…).
    pub async fn send_with(
        &self,
        webhook_id: &str,
        message: &Value,
        extra: &[(&str, &str)],
    ) -> anyhow::Result<(u16, Value)> {
        let body = serde_json::to_vec(message)?;
        let now = chrono::Utc::now().timestamp();
        let mut request = self
            .http
            .post(format!("http://{}/v1/events/whatsapp", self.stack.ingest));
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        let response = request
            .header("content-type", "application/json")
            .header("webhook-id", webhook_id)
            .header("webhook-timestamp", now.to_string())
            .header(
                "webhook-signature",
                sign(&self.secret, webhook_id, now, &body),
            )
            .body(body)
            .send()
            .await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Sends a message and returns its reservation execution id.
    pub async fn accepted(&self, webhook_id: &str, message: &Value) -> anyhow::Result<String> {
        let (status, body) = self.send(webhook_id, message).await?;
        anyhow::ensure!(status == 202, "expected 202, got {status}: {body}");
        body["executions"][0]["execution_id"]
            .as_str()
            .map(str::to_owned)
            .context("no execution id in the answer")
    }

    /// The execution as ingest's API shows it.
    pub async fn execution(&self, id: &str) -> anyhow::Result<Value> {
        let url = format!("http://{}/v1/executions/{id}", self.stack.ingest);
        Ok(self
            .http
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Waits until the execution is in `state`.
    pub async fn settles_in(&self, id: &str, state: &str) -> anyhow::Result<Value> {
        eventually(
            &format!("{id} in {state}"),
            Duration::from_secs(30),
            || async {
                let execution = self.execution(id).await?;
                check(execution["state"] == state, || {
                    format!("state is {}", execution["state"])
                })?;
                Ok(execution)
            },
        )
        .await
    }

    /// The process's `/metrics` page, fetched over HTTP as Prometheus would.
    pub async fn scrape(&self) -> anyhow::Result<String> {
        let addr = self.stack.metrics.context("the stack serves no metrics")?;
        let response = self
            .http
            .get(format!("http://{addr}/metrics"))
            .send()
            .await?
            .error_for_status()?;
        Ok(response.text().await?)
    }

    /// The booking service's counts: `{total, by_key, duplicated_keys}`.
    pub async fn bookings(&self) -> anyhow::Result<Value> {
        self.booking_get("/bookings/counts").await
    }

    /// Messages the booking service's outbound endpoint received for `id`.
    pub async fn messages(&self, id: &str) -> anyhow::Result<Vec<Value>> {
        let list = self
            .booking_get(&format!("/v1/messages?execution_id={id}"))
            .await?;
        Ok(list["messages"].as_array().cloned().unwrap_or_default())
    }

    /// Waits until the outbound endpoint has received `count` messages for
    /// `id`. A clarification's question is sent after the execution reached
    /// its terminal state, so the state alone does not say it has gone out.
    pub async fn messages_eventually(&self, id: &str, count: usize) -> anyhow::Result<Vec<Value>> {
        eventually(
            &format!("{count} message(s) for {id}"),
            Duration::from_secs(30),
            || async {
                let messages = self.messages(id).await?;
                check(messages.len() >= count, || {
                    format!("{} message(s)", messages.len())
                })?;
                Ok(messages)
            },
        )
        .await
    }

    /// Sets the booking service's faults.
    pub async fn faults(&self, faults: Value) -> anyhow::Result<()> {
        let url = format!("http://{}/admin/faults", self.stack.booking);
        self.http
            .post(url)
            .json(&faults)
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    async fn booking_get(&self, path: &str) -> anyhow::Result<Value> {
        let url = format!("http://{}{path}", self.stack.booking);
        Ok(self
            .http
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Runs `sluice args…` against this stack's ledger and broker.
    pub async fn sluice(&self, args: &[&str]) -> std::process::Output {
        self.sluice_as(None, args).await
    }

    /// Runs `sluice args…` against this stack with `token` as the operator's
    /// ledger token (`None`: no token).
    pub async fn sluice_as(&self, token: Option<&str>, args: &[&str]) -> std::process::Output {
        let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        all.extend([
            "--ledger-url".to_owned(),
            format!("http://{}", self.stack.ledger),
            "--nats-url".to_owned(),
            self.nats.url.clone(),
            "--prefix".to_owned(),
            self.nats.subjects.prefix().to_owned(),
        ]);
        let envs = token
            .map(|t| vec![("SLUICE_LEDGER_TOKEN".to_owned(), t.to_owned())])
            .unwrap_or_default();
        crate::cli::run(all, envs).await
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.stack.stop().await?;
        self.nats.cleanup().await
    }
}

/// A WhatsApp message from `sender` (profile name Ana).
pub fn whatsapp(id: &str, sender: &str, text: &str) -> Value {
    json!({ "id": id, "from": sender, "name": "Ana", "text": text })
}

/// A private copy of the repository's workflows with the reservation
/// workflow's `workflow.toml` passed through `edit`; remove it when done.
pub fn workflows_with(edit: impl Fn(String) -> String) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "sluice-workflows-{}",
        sluice_testkit::unique_token()
    ));
    sluice_testkit::copy_dir(&repo("workflows"), &dir)?;
    let toml = dir.join("reservation/workflow.toml");
    std::fs::write(&toml, edit(std::fs::read_to_string(&toml)?))?;
    Ok(dir)
}
