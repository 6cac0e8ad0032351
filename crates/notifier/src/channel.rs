//! Outbound channels: HTTP (the WhatsApp API stand-in) and NATS.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream;
use serde::Serialize;
use sluice_core::{ExecutionId, headers};

use crate::Error;
use crate::options::ChannelOptions;

/// What is sent, on every channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outbound {
    /// The recipient.
    pub to: String,
    /// The message.
    pub text: String,
    /// The execution it belongs to.
    pub execution_id: ExecutionId,
}

/// Why a send failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// May succeed later (timeout, connection refused, 408, 429, 5xx).
    #[error("temporary: {0}")]
    Temporary(String),
    /// Will not succeed as sent (other 4xx, no recipient).
    #[error("permanent: {0}")]
    Permanent(String),
    /// The request went out and no answer came back (a timeout, a reset):
    /// the message may have been delivered. Against a receiver that ignores
    /// keys, sending again could deliver it twice.
    #[error("ambiguous: {0}")]
    Ambiguous(String),
}

/// A configured channel.
#[derive(Debug, Clone)]
pub enum Channel {
    /// JSON POST.
    Http {
        /// The client (with its timeout).
        client: reqwest::Client,
        /// The endpoint.
        url: String,
        /// Whether the endpoint deduplicates by `Idempotency-Key`.
        honours_keys: bool,
        /// The contract field holding the recipient.
        recipient_field: String,
    },
    /// JetStream publish with `Nats-Msg-Id`.
    Nats {
        /// The JetStream context (boxed: it is much larger than the client).
        js: Box<jetstream::Context>,
        /// The subject.
        subject: String,
        /// The contract field holding the recipient.
        recipient_field: String,
    },
}

impl Channel {
    /// Builds a channel from its options.
    pub fn new(options: &ChannelOptions, js: &jetstream::Context) -> Result<Self, Error> {
        Ok(match options {
            ChannelOptions::Http {
                url,
                timeout_ms,
                honours_idempotency_key,
                recipient_field,
            } => Channel::Http {
                client: reqwest::Client::builder()
                    .timeout(Duration::from_millis(*timeout_ms))
                    .build()
                    .map_err(|e| Error::Config(format!("http channel {url}: {e}")))?,
                url: url.clone(),
                honours_keys: *honours_idempotency_key,
                recipient_field: recipient_field.clone(),
            },
            ChannelOptions::Nats {
                subject,
                recipient_field,
            } => Channel::Nats {
                js: Box::new(js.clone()),
                subject: subject.clone(),
                recipient_field: recipient_field.clone(),
            },
        })
    }

    /// The contract field holding the recipient.
    pub fn recipient_field(&self) -> &str {
        match self {
            Channel::Http {
                recipient_field, ..
            }
            | Channel::Nats {
                recipient_field, ..
            } => recipient_field,
        }
    }

    /// Whether the receiver deduplicates by the key we send.
    pub fn honours_keys(&self) -> bool {
        match self {
            Channel::Http { honours_keys, .. } => *honours_keys,
            // JetStream drops a repeated Nats-Msg-Id inside its window.
            Channel::Nats { .. } => true,
        }
    }

    /// Sends `message` under idempotency `key`.
    pub async fn send(&self, key: &str, message: &Outbound) -> Result<(), SendError> {
        match self {
            Channel::Http { client, url, .. } => {
                let mut request = client
                    .post(url)
                    .header("Idempotency-Key", key)
                    .json(message);
                if let Some(tp) = sluice_runtime::propagation::current_traceparent() {
                    request = request.header("traceparent", tp);
                }
                let response = request.send().await.map_err(|e| {
                    // Refused before anything was sent: safe to send again.
                    // Anything later (a timeout, a reset) may hide a
                    // delivered message.
                    let connect = e.is_connect();
                    let reason = e.without_url().to_string();
                    if connect {
                        SendError::Temporary(reason)
                    } else {
                        SendError::Ambiguous(reason)
                    }
                })?;
                classify(response.status())
            }
            Channel::Nats { js, subject, .. } => {
                let mut map = HeaderMap::new();
                map.insert(headers::MSG_ID, key);
                sluice_bus::trace::set_traceparent(&mut map, None);
                let payload =
                    serde_json::to_vec(message).map_err(|e| SendError::Permanent(e.to_string()))?;
                let ack = js
                    .publish_with_headers(subject.clone(), map, payload.into())
                    .await
                    .map_err(|e| SendError::Temporary(e.to_string()))?;
                ack.await
                    .map(drop)
                    .map_err(|e| SendError::Temporary(e.to_string()))
            }
        }
    }
}

fn classify(status: reqwest::StatusCode) -> Result<(), SendError> {
    if status.is_success() {
        return Ok(());
    }
    let text = format!("HTTP {status}");
    if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
        Err(SendError::Temporary(text))
    } else {
        Err(SendError::Permanent(text))
    }
}
