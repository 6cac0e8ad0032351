//! The system under test: every Sluice service in this process, wired as
//! `sluice dev` wires them (the rules backend, the example booking service
//! as the in-process target, the ledger on Postgres, every guard on), fed
//! over NATS the way an upstream already on NATS feeds ingest.

use std::path::Path;

use anyhow::Context as _;
use futures::future::BoxFuture;
use sluice_cli::dev::{Stack, StackOptions};
use sluice_core::subjects::StreamKind;
use sluice_core::{ExecutionId, State, Subjects, headers};

use crate::db::Databases;
use crate::load::System;

/// What the guest writes: complete, inside opening hours, auto-approved.
const TEXT: &str = "I would like a table for four tomorrow at nine.";

/// A running stack plus the databases it owns.
pub struct Pipeline {
    /// The stack (its `/metrics` is how round trips are counted).
    pub stack: Stack,
    js: async_nats::jetstream::Context,
    subjects: Subjects,
    run: String,
    dbs: Databases,
    /// Where finished executions are announced.
    pub done_subject: String,
}

impl Pipeline {
    /// Creates two fresh databases on `database_url`'s server and starts
    /// the stack under `prefix`.
    pub async fn start(
        nats_url: &str,
        database_url: &str,
        prefix: &str,
        repo: &Path,
    ) -> anyhow::Result<Self> {
        let dbs = Databases::create(
            database_url,
            &[
                format!("{prefix}_ledger"),
                format!("{prefix}_booking"),
                format!("{prefix}_crm"),
            ],
        )
        .await?;
        let any = "127.0.0.1:0".parse()?;
        let options = StackOptions {
            nats: sluice_bus::NatsOptions {
                url: nats_url.to_owned(),
                prefix: prefix.to_owned(),
                ..Default::default()
            },
            ledger_database_url: dbs.url(0)?,
            booking_database_url: dbs.url(1)?,
            crm_database_url: dbs.url(2)?,
            workflows_dir: repo.join("workflows"),
            sources_dir: repo.join("sources"),
            ingest_listen: any,
            booking_listen: any,
            ledger_listen: any,
            honour_idempotency_keys: false,
            // Webhooks are not used here, but the sources declare secrets.
            env: [
                "SLUICE_WHATSAPP_WEBHOOK_SECRET",
                "SLUICE_CRM_WEBHOOK_SECRET",
            ]
            .map(|name| (name.into(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()))
            .to_vec(),
            models: Default::default(),
            topology: None,
            executor_failpoint: None,
            metrics_listen: Some(any),
            ledger_tokens: Default::default(),
            console_listen: None,
            service_nats: Default::default(),
        };
        let stack = Stack::start(options).await.context("starting the stack")?;
        let subjects = Subjects::new(prefix)?;
        let done_subject = subjects.event(State::Completed, "reservation")?;
        Ok(Self {
            js: stack.bus.jetstream().clone(),
            stack,
            subjects,
            run: prefix.to_owned(),
            dbs,
            done_subject,
        })
    }

    /// The mean payload of the last messages handed between stages: the
    /// size the baseline relays.
    pub async fn stage_payload_size(&self) -> anyhow::Result<usize> {
        let mut stream = self
            .js
            .get_stream(self.subjects.stream(StreamKind::Pipeline))
            .await?;
        let last = stream.info().await?.state.last_sequence;
        let mut sizes = Vec::new();
        for seq in last.saturating_sub(7).max(1)..=last {
            if let Ok(message) = stream.get_raw_message(seq).await {
                sizes.push(message.payload.len());
            }
        }
        anyhow::ensure!(!sizes.is_empty(), "no stage message to measure");
        Ok(sizes.iter().sum::<usize>() / sizes.len())
    }

    /// The process's `/metrics` page.
    pub async fn scrape(&self) -> anyhow::Result<String> {
        let addr = self.stack.metrics.context("no metrics listener")?;
        Ok(reqwest::get(format!("http://{addr}/metrics"))
            .await?
            .error_for_status()?
            .text()
            .await?)
    }

    /// Stops every service and drops the databases.
    pub async fn stop(self) -> anyhow::Result<()> {
        let stopped = self.stack.stop().await;
        self.dbs.drop_all().await?;
        stopped
    }

    fn event_id(&self, n: u64) -> String {
        format!("wamid.{}.{n}", self.run)
    }
}

impl System for Pipeline {
    fn id_of(&self, n: u64) -> String {
        ExecutionId::derive("whatsapp", &self.event_id(n), "reservation").to_string()
    }

    fn submit(&self, n: u64) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            let event_id = self.event_id(n);
            // A sender per execution: no two share a conversation.
            let body = serde_json::json!({
                "id": event_id,
                "from": format!("34{:09}", n % 1_000_000_000),
                "name": "Ana",
                "text": TEXT,
            });
            let mut map = async_nats::HeaderMap::new();
            map.insert(headers::MSG_ID, event_id.as_str());
            let subject = format!("{}.in.whatsapp.bench", self.subjects.prefix());
            self.js
                .publish_with_headers(subject, map, serde_json::to_vec(&body)?.into())
                .await?
                .await?;
            Ok(())
        })
    }
}
