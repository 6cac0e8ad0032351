//! A console in front of a real ledger (one token per role) on a fresh
//! database, and an HTTP client that handles the session cookie itself.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use sluice_bus::{Bus, StreamSettings, StreamsConfig, Topology};
use sluice_console::{Options, Service};
use sluice_core::{ExecutionId, State};
use sluice_ledger::{NewReviewItem, Origin, ReviewItem, ReviewKind, TokenTable, Transition};
use sluice_testkit::{TestDb, TestLedger, TestNats};
use tokio_util::sync::CancellationToken;

pub const SERVICE: &str = "service-token-0123456789";
pub const REVIEWER: &str = "reviewer-token-0123456789";
pub const SRE: &str = "sre-token-0123456789abcd";
pub const ADMIN: &str = "admin-token-0123456789ab";

/// The console under test, its ledger and an HTTP client.
pub struct Console {
    pub ledger: TestLedger,
    /// The broker, under a prefix of this test's own (no streams until
    /// [`Console::provision`]).
    pub nats: TestNats,
    pub base: String,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
    _db: TestDb,
}

impl Console {
    /// A console whose sessions last eight hours.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with_ttl(Duration::from_secs(8 * 3_600)).await
    }

    /// A console whose sessions last `ttl`.
    pub async fn start_with_ttl(ttl: Duration) -> anyhow::Result<Self> {
        Self::start_with(|options| {
            options.session_ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        })
        .await
    }

    /// A console whose options `edit` changes first.
    pub async fn start_with(edit: impl FnOnce(&mut Options)) -> anyhow::Result<Self> {
        let db = TestDb::new().await?;
        let tokens: TokenTable = format!(
            "{SERVICE}=service:executor,{REVIEWER}=reviewer:alice,{SRE}=sre:bob,{ADMIN}=admin:root"
        )
        .parse()?;
        let ledger = TestLedger::start_with(&db, tokens, Some(SERVICE)).await?;
        let nats = TestNats::new().await?;
        let mut options = Options {
            listen: "127.0.0.1:0".parse()?,
            health_listen: None,
            ..Options::default()
        };
        options.workflows_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../workflows").into();
        options.ledger.url = format!("http://{}", ledger.addr);
        options.nats.url = nats.url.clone();
        options.nats.prefix = nats.subjects.prefix().to_owned();
        edit(&mut options);
        let service = Service::bind(options).await?;
        let base = format!("http://{}", service.local_addr()?);
        let shutdown = CancellationToken::new();
        tokio::spawn(service.run(shutdown.clone()));
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            ledger,
            nats,
            base,
            http,
            shutdown,
            _db: db,
        })
    }

    /// `POST /sign-in` with `token`.
    pub async fn sign_in_response(&self, token: &str) -> anyhow::Result<reqwest::Response> {
        let url = format!("{}/sign-in", self.base);
        Ok(self.http.post(url).form(&[("token", token)]).send().await?)
    }

    /// Signs in with `token`; the `Cookie` header value of the session.
    pub async fn sign_in(&self, token: &str) -> anyhow::Result<String> {
        let resp = self.sign_in_response(token).await?;
        anyhow::ensure!(
            resp.status() == StatusCode::SEE_OTHER,
            "sign-in: {}",
            resp.status()
        );
        let set = resp
            .headers()
            .get(SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| anyhow::anyhow!("no session cookie"))?;
        let pair = set.split(';').next().unwrap_or_default();
        Ok(pair.to_owned())
    }

    /// `GET path`, with the session cookie if given.
    pub async fn get(&self, path: &str, cookie: Option<&str>) -> anyhow::Result<reqwest::Response> {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(cookie) = cookie {
            req = req.header(COOKIE, cookie);
        }
        Ok(req.send().await?)
    }

    /// `GET path` as the session's page text; fails unless 200.
    pub async fn page(&self, path: &str, cookie: &str) -> anyhow::Result<String> {
        let resp = self.get(path, Some(cookie)).await?;
        anyhow::ensure!(
            resp.status() == StatusCode::OK,
            "GET {path}: {}",
            resp.status()
        );
        Ok(resp.text().await?)
    }

    /// `POST path` with a form, with the session cookie if given.
    pub async fn post(
        &self,
        path: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
    ) -> anyhow::Result<reqwest::Response> {
        let mut req = self.http.post(format!("{}{path}", self.base)).form(form);
        if let Some(cookie) = cookie {
            req = req.header(COOKIE, cookie);
        }
        Ok(req.send().await?)
    }

    /// The streams and consumers of the `reservation` workflow under this
    /// test's prefix, so what the console publishes is stored and can be
    /// read back.
    pub async fn provision(&self) -> anyhow::Result<Bus> {
        let bus = Bus::new(self.nats.client.clone(), self.nats.subjects.clone());
        let s = StreamSettings::new(Duration::from_secs(3600), Duration::from_secs(120));
        let topology = Topology {
            streams: StreamsConfig {
                ingest: s,
                pipeline: s,
                dead_letter: s,
                advisories: s,
                events: s,
            },
            ..Topology::new(["reservation"], ["whatsapp"])
        };
        bus.provision(&topology).await?;
        Ok(bus)
    }

    /// An open review item on a new execution walked to review by the gate.
    pub async fn open_item(&self) -> anyhow::Result<ReviewItem> {
        let service = &self.ledger.client;
        let id = ExecutionId::derive("whatsapp", &uuid::Uuid::new_v4().to_string(), "reservation");
        let mut from = None;
        for to in [
            State::Received,
            State::Validated,
            State::ModelRequested,
            State::ModelCompleted,
            State::OutputValidated,
            State::GateDecided,
            State::HumanReviewPending,
        ] {
            service.record_transition(&transition(id, from, to)).await?;
            from = Some(to);
        }
        let item = NewReviewItem {
            execution_id: id,
            generation: "0".into(),
            kind: ReviewKind::Review,
            handoff: handoff(),
            sla_due_at: None,
        };
        Ok(service.create_review_item(&item).await?.item)
    }

    /// The item as the ledger has it now (read by an admin).
    pub async fn item(&self, id: i64) -> anyhow::Result<ReviewItem> {
        let admin = self.ledger.client(Some(ADMIN))?;
        Ok(admin.get_review_item(id).await?.0)
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The CSRF token of the first form on a page.
pub fn csrf(page: &str) -> anyhow::Result<String> {
    let marker = r#"name="csrf" value=""#;
    let start = page
        .find(marker)
        .ok_or_else(|| anyhow::anyhow!("no CSRF field on the page"))?
        + marker.len();
    let len = page[start..].find('"').unwrap_or_default();
    Ok(page[start..start + len].to_owned())
}

/// Where a redirect points.
pub fn location(resp: &reqwest::Response) -> Option<&str> {
    resp.headers().get(LOCATION).and_then(|v| v.to_str().ok())
}

fn handoff() -> Value {
    json!({
        "requested": "Table for 12 tonight at 21:00, name Ruiz",
        "collected": {
            "party_size": {"value": 12, "confidence": 0.93},
            "time": {"value": "21:00", "confidence": 0.61},
        },
        "confidence": 0.61,
        "proposed_action": "book_table",
        "actions_attempted": [],
        "systems_returned": [],
        "why_stopped": "party size above the automatic limit",
        "failed_rules": [{"rule": "max_party_size", "detail": "12 > 8"}],
        "decision_needed": "approve, correct or reject book_table",
    })
}

fn transition(id: ExecutionId, from: Option<State>, to: State) -> Transition {
    Transition {
        execution_id: id,
        from,
        to,
        stage: "gate".into(),
        generation: "0".into(),
        detail: None,
        exception_reason: None,
        final_outcome: None,
        origin: Origin {
            workflow: "reservation".into(),
            source: "whatsapp".into(),
            event_id: id.as_uuid().to_string(),
            correlation_id: "corr-review".into(),
        },
    }
}
