//! Integration tests of the example booking service against real Postgres.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bookings;
mod faults;

use booking_service::{BookingService, Options};
use serde_json::{Value, json};
use sluice_testkit::TestDb;
use tokio_util::sync::CancellationToken;

/// A booking service on its own fresh database and a free port.
pub(crate) struct Env {
    pub(crate) service: BookingService,
    pub(crate) http: reqwest::Client,
    pub(crate) shutdown: CancellationToken,
    _db: TestDb,
}

impl Env {
    pub(crate) async fn start(honour: bool) -> anyhow::Result<Self> {
        let db = TestDb::new().await?;
        let options = Options {
            database_url: db.url.clone(),
            listen: "127.0.0.1:0".parse()?,
            honour_idempotency_keys: honour,
            ..Options::default()
        };
        let shutdown = CancellationToken::new();
        let service = BookingService::spawn(options, shutdown.clone()).await?;
        Ok(Self {
            service,
            http: reqwest::Client::new(),
            shutdown,
            _db: db,
        })
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.service.url())
    }

    pub(crate) async fn book(
        &self,
        key: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<(u16, Value)> {
        let mut req = self.http.post(self.url("/bookings")).json(body);
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(Value::Null)))
    }

    pub(crate) async fn get(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        let resp = self.http.get(self.url(path)).send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(Value::Null)))
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let resp = self.http.post(self.url(path)).json(&body).send().await?;
        anyhow::ensure!(resp.status().is_success(), "{path}: {}", resp.status());
        Ok(resp.json().await?)
    }

    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.service.wait().await?;
        Ok(())
    }
}

pub(crate) fn table_for_four() -> Value {
    json!({"name": "Ana", "party_size": 4, "date": "2026-11-24", "time": "21:00", "phone": "+34600000000"})
}
