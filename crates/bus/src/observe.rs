//! Metrics the bus layer records for every service: prevented duplicates and
//! the work waiting in durable consumers.

use std::collections::BTreeSet;

use async_nats::jetstream;
use futures::TryStreamExt as _;
use sluice_core::Stage;
use sluice_core::metrics::{CONSUMER_PENDING, ESCALATIONS, PREVENTED_DUPLICATES};

use crate::Error;

/// Which idempotency layer stopped a duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// The broker (`Nats-Msg-Id` inside the dedupe window) or ingest's
    /// recognition of an event it has seen before.
    Message,
    /// The ledger: `Begin` answered `COMPLETED` or `IN_PROGRESS`.
    Ledger,
}

impl Layer {
    /// The `layer` label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Layer::Message => "message",
            Layer::Ledger => "ledger",
        }
    }
}

/// Counts one duplicate `layer` stopped on its way to `stage`.
pub fn prevented_duplicate(layer: Layer, stage: Stage) {
    metrics::counter!(PREVENTED_DUPLICATES.name,
        "layer" => layer.as_str(), "stage" => stage.as_str())
    .increment(1);
}

/// Samples every durable consumer of `streams` into the consumer-pending
/// gauge (not yet delivered plus delivered and unacknowledged). Consumers
/// seen before that are gone are set to zero, so a deleted consumer does not
/// look stuck. `seen` carries the (stream, consumer) pairs between calls.
pub async fn sample_consumers(
    js: &jetstream::Context,
    streams: &[String],
    seen: &mut BTreeSet<(String, String)>,
) -> Result<(), Error> {
    let mut now = BTreeSet::new();
    for name in streams {
        let fail = |source: async_nats::Error| Error::Stream {
            stream: name.clone(),
            source,
        };
        let stream = js.get_stream(name).await.map_err(|e| fail(Box::new(e)))?;
        let infos: Vec<_> = stream
            .consumers()
            .try_collect()
            .await
            .map_err(|e| fail(Box::new(e)))?;
        for info in infos {
            #[allow(clippy::cast_precision_loss)] // message counts
            let pending = info.num_pending as f64 + info.num_ack_pending as f64;
            metrics::gauge!(CONSUMER_PENDING.name,
                "stream" => name.clone(), "consumer" => info.name.clone())
            .set(pending);
            now.insert((name.clone(), info.name));
        }
    }
    for (stream, consumer) in seen.difference(&now) {
        metrics::gauge!(CONSUMER_PENDING.name,
            "stream" => stream.clone(), "consumer" => consumer.clone())
        .set(0.0);
    }
    seen.extend(now);
    Ok(())
}

/// Counts one execution handed to a person by `stage`, for `reason` (a rule,
/// a failure kind: a fixed word, never free text).
pub fn escalation(stage: Stage, workflow: &str, reason: &str) {
    metrics::counter!(ESCALATIONS.name,
        "stage" => stage.as_str(), "workflow" => workflow.to_owned(), "reason" => reason.to_owned())
    .increment(1);
}
