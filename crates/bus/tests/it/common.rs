//! Shared set-up: a provisioned prefix, publishing, recording handlers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::consumer;
use async_nats::jetstream::message::StreamMessage;
use sluice_bus::{
    Backoff, Bus, ConsumeOptions, ConsumerSettings, Delivery, Handler, Published, StageHeaders,
    Stopped, StreamSettings, StreamsConfig, Topology,
};
use sluice_core::subjects::StreamKind;
use sluice_core::{CorrelationId, Envelope, Stage};
use sluice_testkit::TestNats;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub const WORKFLOW: &str = "w";
pub const STAGE: Stage = Stage::Gate;
pub const SOURCE: &str = "src";

/// A provisioned prefix on the test broker.
pub struct Env {
    pub nats: TestNats,
    pub bus: Bus,
}

/// Limits that keep the tests fast: short ack wait, short backoff, and streams
/// that age out within the hour if a test dies before cleanup.
pub fn topology(consumers: ConsumerSettings) -> Topology {
    let hour = Duration::from_secs(3600);
    let streams = StreamsConfig {
        ingest: StreamSettings::new(hour, Duration::from_secs(120)),
        pipeline: StreamSettings::new(hour, Duration::from_secs(120)),
        dead_letter: StreamSettings::new(hour, Duration::from_secs(600)),
        advisories: StreamSettings::new(hour, Duration::from_secs(120)),
        events: StreamSettings::new(hour, Duration::from_secs(120)),
    };
    Topology {
        streams,
        consumers,
        ..Topology::new([WORKFLOW], [SOURCE])
    }
}

pub fn consumer_settings(ack_wait_ms: u64, max_deliver: u32) -> ConsumerSettings {
    ConsumerSettings {
        ack_wait: Duration::from_millis(ack_wait_ms),
        max_deliver,
        max_ack_pending: 100,
    }
}

impl Env {
    pub async fn new(consumers: ConsumerSettings) -> anyhow::Result<Self> {
        let nats = TestNats::new().await?;
        let bus = Bus::new(nats.client.clone(), nats.subjects.clone());
        bus.provision(&topology(consumers)).await?;
        Ok(Self { nats, bus })
    }

    pub fn stream(&self, kind: StreamKind) -> String {
        self.nats.subjects.stream(kind)
    }

    /// Publishes event `i` to the test stage at generation `0`.
    pub async fn publish(&self, i: usize) -> anyhow::Result<(Envelope, Published)> {
        let envelope = envelope(i);
        let published = self
            .bus
            .publisher()
            .envelope_to_stage(&envelope, STAGE, "0", None)
            .await?;
        Ok((envelope, published))
    }

    pub async fn stream_messages(&self, kind: StreamKind) -> anyhow::Result<u64> {
        let mut stream = self.nats.jetstream.get_stream(self.stream(kind)).await?;
        Ok(stream.info().await?.state.messages)
    }

    /// Every message stored in the stream of `kind`.
    pub async fn stored(&self, kind: StreamKind) -> anyhow::Result<Vec<StreamMessage>> {
        let mut stream = self.nats.jetstream.get_stream(self.stream(kind)).await?;
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

    pub async fn consumer_info(&self) -> anyhow::Result<consumer::Info> {
        let name = self.nats.subjects.consumer(STAGE, WORKFLOW)?;
        let stream = self
            .nats
            .jetstream
            .get_stream(self.stream(StreamKind::Pipeline))
            .await?;
        Ok(stream.consumer_info(&name).await?)
    }

    /// Waits until the stage consumer has nothing pending or unacked.
    pub async fn drained(&self, timeout: Duration) -> anyhow::Result<()> {
        sluice_testkit::eventually("consumer drained", timeout, || async {
            let info = self.consumer_info().await?;
            sluice_testkit::eventually::check(
                info.num_pending == 0 && info.num_ack_pending == 0,
                || {
                    format!(
                        "pending {} ack pending {}",
                        info.num_pending, info.num_ack_pending
                    )
                },
            )
        })
        .await
    }

    /// Starts the stage's consume loop with `handler`.
    pub async fn spawn_loop<H: Handler>(
        &self,
        options: ConsumeOptions,
        handler: H,
    ) -> anyhow::Result<Running> {
        let consume = self.bus.stage_loop(STAGE, WORKFLOW, options).await?;
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(consume.run(handler, shutdown.clone()));
        Ok(Running { shutdown, task })
    }
}

pub fn envelope(i: usize) -> Envelope {
    Envelope::new(
        "test",
        format!("event-{i}"),
        WORKFLOW,
        CorrelationId::generate(),
        chrono::Utc::now(),
        serde_json::json!({ "i": i }),
    )
}

pub fn stage_headers(envelope: &Envelope, generation: &str) -> StageHeaders {
    StageHeaders::for_envelope(envelope, STAGE, generation)
}

/// Fast loop options: short pulls, short backoff.
pub fn options() -> ConsumeOptions {
    ConsumeOptions {
        concurrency: 4,
        fetch_wait: Duration::from_millis(500),
        grace: Duration::from_secs(5),
        backoff: Backoff {
            base: Duration::from_millis(20),
            max: Duration::from_millis(100),
        },
        progress_every: None,
    }
}

/// A running consume loop.
pub struct Running {
    pub shutdown: CancellationToken,
    pub task: JoinHandle<Result<Stopped, sluice_bus::Error>>,
}

impl Running {
    pub async fn stop(self, timeout: Duration) -> anyhow::Result<Stopped> {
        self.shutdown.cancel();
        let stopped = tokio::time::timeout(timeout, self.task)
            .await
            .context("consume loop did not stop in time")???;
        Ok(stopped)
    }
}

/// One call of a handler.
#[derive(Debug, Clone)]
pub struct Call {
    pub event: usize,
    pub delivered: u64,
    pub at: Instant,
}

/// Records every handler call, keyed by the event index in the payload.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Recorder {
    pub fn record(&self, delivery: &Delivery) -> usize {
        let event = event_index(delivery);
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(Call {
                event,
                delivered: delivery.delivered,
                at: Instant::now(),
            });
        }
        event
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.calls().len()
    }

    /// Calls per event.
    pub fn per_event(&self) -> HashMap<usize, usize> {
        let mut out = HashMap::new();
        for call in self.calls() {
            *out.entry(call.event).or_default() += 1;
        }
        out
    }
}

pub fn event_index(delivery: &Delivery) -> usize {
    serde_json::from_slice::<Envelope>(&delivery.payload)
        .ok()
        .and_then(|e| e.data.get("i").and_then(|v| v.as_u64()))
        .and_then(|i| usize::try_from(i).ok())
        .unwrap_or(usize::MAX)
}
