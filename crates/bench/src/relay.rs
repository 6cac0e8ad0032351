//! The baseline: a raw five-hop JetStream relay with no ledger and no
//! database — what the broker alone allows on this machine.
//!
//! It mirrors the pipeline's use of JetStream: the input on its own stream,
//! four relay hops and a final consumer on a second stream (the pipeline's
//! `sluice.stage.>`), one durable pull consumer per hop with the
//! pipeline's limits (explicit ack, `max_ack_pending` 1000, `ack_wait`
//! 30 s), every publish with a `Nats-Msg-Id` and the pipeline's headers,
//! awaited for its PubAck before the input is double-acked, and the final
//! hop announcing the finished execution on a third stream, as the notifier
//! does. A hop pulls only as many messages as it has free handler slots,
//! like the consume loop.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use futures::StreamExt as _;
use futures::future::BoxFuture;
use sluice_core::headers;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::load::System;

/// The pipeline's per-stage handler limits, in hop order: ingest
/// (`max_in_flight`), interpreter, gate, executor, notifier.
pub const BATCHED: [usize; 5] = [256, 8, 16, 16, 16];

/// One message at a time at every hop.
pub const ONE_AT_A_TIME: [usize; 5] = [1; 5];

/// A running relay.
pub struct Relay {
    js: jetstream::Context,
    prefix: String,
    payload: Bytes,
    /// Where finished executions are announced.
    pub done_subject: String,
}

impl Relay {
    /// Creates the relay's streams and consumers under `prefix` and starts
    /// its hops with `slots` handlers each.
    pub async fn start(
        client: async_nats::Client,
        prefix: &str,
        payload_size: usize,
        slots: [usize; 5],
        shutdown: &CancellationToken,
    ) -> anyhow::Result<Self> {
        let js = jetstream::new(client);
        let upper = prefix.to_ascii_uppercase();
        for (name, subject) in [("IN", "in"), ("PIPE", "hop"), ("EVENTS", "done")] {
            js.get_or_create_stream(stream::Config {
                name: format!("{upper}_{name}"),
                subjects: vec![format!("{prefix}.{subject}.>")],
                retention: stream::RetentionPolicy::Limits,
                storage: stream::StorageType::File,
                max_age: Duration::from_secs(3600),
                duplicate_window: Duration::from_secs(600),
                ..Default::default()
            })
            .await
            .with_context(|| format!("creating relay stream {upper}_{name}"))?;
        }
        for (hop, &hop_slots) in slots.iter().enumerate() {
            let stream = if hop == 0 { "IN" } else { "PIPE" };
            let consumer = js
                .create_consumer_on_stream(
                    consumer::pull::Config {
                        durable_name: Some(format!("hop{hop}")),
                        ack_policy: consumer::AckPolicy::Explicit,
                        ack_wait: Duration::from_secs(30),
                        max_deliver: 5,
                        max_ack_pending: 1000,
                        filter_subject: subject(prefix, hop),
                        ..Default::default()
                    },
                    format!("{upper}_{stream}"),
                )
                .await
                .with_context(|| format!("creating relay consumer hop{hop}"))?;
            let next = if hop == 4 {
                format!("{prefix}.done.completed")
            } else {
                subject(prefix, hop + 1)
            };
            tokio::spawn(run_hop(
                js.clone(),
                consumer,
                next,
                hop,
                hop_slots,
                shutdown.clone(),
            ));
        }
        Ok(Self {
            js,
            prefix: prefix.to_owned(),
            payload: Bytes::from(vec![b'x'; payload_size]),
            done_subject: format!("{prefix}.done.>"),
        })
    }
}

fn subject(prefix: &str, hop: usize) -> String {
    if hop == 0 {
        format!("{prefix}.in.bench")
    } else {
        format!("{prefix}.hop.{hop}")
    }
}

/// The headers a stage message carries (what the pipeline's publisher
/// sets), for execution `id` entering `hop`.
fn stage_headers(id: &str, hop: usize) -> HeaderMap {
    let mut map = HeaderMap::new();
    map.insert(headers::MSG_ID, format!("{id}:{hop}:0").as_str());
    map.insert(headers::CORRELATION_ID, id);
    map.insert(headers::EXECUTION_ID, id);
    map.insert(headers::WORKFLOW, "bench");
    map.insert(headers::STAGE, format!("hop{hop}").as_str());
    map.insert(headers::GENERATION, "0");
    map.insert(headers::ENVELOPE_VERSION, "1");
    map.insert(
        headers::TRACEPARENT,
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    );
    map
}

async fn publish(
    js: &jetstream::Context,
    subject: String,
    headers: HeaderMap,
    payload: Bytes,
) -> anyhow::Result<()> {
    js.publish_with_headers(subject, headers, payload)
        .await?
        .await?;
    Ok(())
}

/// One hop: pull as many messages as there are free slots, relay each
/// (publish, await the PubAck, double-ack), repeat.
async fn run_hop(
    js: jetstream::Context,
    consumer: consumer::PullConsumer,
    next: String,
    hop: usize,
    slots: usize,
    shutdown: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(slots));
    while !shutdown.is_cancelled() {
        let Ok(first) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut permits = vec![first];
        while let Ok(p) = slots.clone().try_acquire_owned() {
            permits.push(p);
        }
        let request = consumer
            .batch()
            .max_messages(permits.len())
            .expires(Duration::from_secs(5))
            .messages();
        let mut batch = tokio::select! {
            () = shutdown.cancelled() => return,
            batch = request => match batch {
                Ok(batch) => batch,
                Err(_) => { tokio::time::sleep(Duration::from_millis(100)).await; continue; }
            },
        };
        while let Some(Ok(message)) = tokio::select! {
            () = shutdown.cancelled() => return,
            next = batch.next() => next,
        } {
            let Some(permit) = permits.pop() else { break };
            let (js, next) = (js.clone(), next.clone());
            tokio::spawn(async move {
                let id = message
                    .headers
                    .as_ref()
                    .and_then(|h| h.get(headers::EXECUTION_ID))
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default();
                let headers = stage_headers(&id, hop + 1);
                if publish(&js, next, headers, message.payload.clone())
                    .await
                    .is_ok()
                {
                    let _ = message.double_ack().await;
                }
                drop(permit);
            });
        }
    }
}

impl System for Relay {
    fn id_of(&self, n: u64) -> String {
        format!("{}-{n}", self.prefix)
    }

    fn submit(&self, n: u64) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            let id = self.id_of(n);
            let subject = subject(&self.prefix, 0);
            publish(
                &self.js,
                subject,
                stage_headers(&id, 0),
                self.payload.clone(),
            )
            .await
        })
    }
}
