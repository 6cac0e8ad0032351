//! The `nats` connector: a JetStream publish with `Nats-Msg-Id` = the key.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream;
use serde_json::{Value, json};
use sluice_core::{FailureClass, headers};

use super::{Applied, Called};

/// Publishes `body` to `subject` and waits for the PubAck. JetStream drops a
/// repeated Msg-Id inside the stream's duplicate window, so a lost ack is
/// retried safely within it; the external id is `<stream>:<sequence>`.
pub async fn publish(
    js: &jetstream::Context,
    subject: &str,
    timeout: Duration,
    key: &str,
    body: &Value,
) -> Called {
    let mut map = HeaderMap::new();
    map.insert(headers::MSG_ID, key);
    sluice_bus::trace::set_traceparent(&mut map, None);
    let payload = match serde_json::to_vec(body) {
        Ok(p) => p,
        Err(err) => {
            return Called::Failed {
                class: FailureClass::Permanent,
                reason: format!("body not serialisable: {err}"),
            };
        }
    };
    let ack = async {
        js.publish_with_headers(subject.to_owned(), map, payload.into())
            .await
            .map_err(|e| e.to_string())?
            .await
            .map_err(|e| e.to_string())
    };
    match tokio::time::timeout(timeout, ack).await {
        Ok(Ok(ack)) => Called::Applied(Applied {
            status: 200,
            body: json!({ "stream": ack.stream, "sequence": ack.sequence, "duplicate": ack.duplicate }),
            external_id: Some(format!("{}:{}", ack.stream, ack.sequence)),
        }),
        Ok(Err(reason)) => Called::Failed {
            class: FailureClass::Temporary,
            reason: format!("publish to {subject} failed: {reason}"),
        },
        Err(_) => Called::Ambiguous {
            reason: format!("no PubAck from {subject} within {timeout:?}"),
        },
    }
}
