//! The invariants, checked at the end from independent records: the booking
//! service's own tables (the effects and the confirmations it received),
//! the ledger's tables read with SQL (not through the ledger), and the
//! messages kept in the streams.

mod rules;

use std::collections::{BTreeMap, BTreeSet};

use async_nats::jetstream;
use serde_json::Value;
use sluice_core::headers;
use sluice_core::subjects::StreamKind;
use sqlx::PgPool;

pub use rules::{Replays, Verdict, check_all};

use crate::setup::PREFIX;

/// One execution row.
#[derive(Debug, Clone)]
pub struct Execution {
    /// The execution id.
    pub id: String,
    /// The upstream event id.
    pub event_id: String,
    /// Its state now.
    pub state: String,
    /// Its correlation id.
    pub correlation_id: String,
}

/// One journal row.
#[derive(Debug, Clone)]
pub struct Step {
    /// Per-execution sequence.
    pub seq: i64,
    /// From (none for the first).
    pub from: Option<String>,
    /// To.
    pub to: String,
}

/// One dead-letter entry.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// Its id.
    pub id: i64,
    /// The execution, when the message had one.
    pub execution_id: Option<String>,
    /// The failure class.
    pub class: String,
    /// Why.
    pub reason: String,
    /// The correlation id recorded with it.
    pub correlation_id: String,
    /// The original payload, as text.
    pub payload: String,
}

/// A message kept in a stream.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Its stream.
    pub stream: &'static str,
    /// Its subject.
    pub subject: String,
    /// `Sluice-Execution-Id` (pipeline) or the payload's `execution_id` (events).
    pub execution_id: Option<String>,
    /// `Sluice-Correlation-Id` (pipeline) or the payload's `correlation_id`.
    pub correlation_id: Option<String>,
}

/// Everything the invariants look at.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Event ids the upstream saw accepted.
    pub accepted: BTreeSet<String>,
    /// Markers of the poison messages JetStream acknowledged.
    pub poison: Vec<String>,
    /// The ledger's executions.
    pub executions: Vec<Execution>,
    /// The journal, by execution id.
    pub journal: BTreeMap<String, Vec<Step>>,
    /// Idempotency keys: state and the stored result's external id.
    pub keys: BTreeMap<String, (String, Option<String>)>,
    /// Dead-letter entries.
    pub dead_letters: Vec<DeadLetter>,
    /// Review items: execution id and correlation id.
    pub reviews: Vec<(String, String)>,
    /// The target's bookings by idempotency key (`""` when sent without).
    pub bookings: BTreeMap<String, Vec<String>>,
    /// The target's outbound messages by execution id (`""` without one).
    pub messages: BTreeMap<String, usize>,
    /// Pipeline and event stream messages.
    pub stored: Vec<Stored>,
}

impl Snapshot {
    /// Reads the ledger's and the target's tables and the streams.
    pub async fn load(
        ledger: &PgPool,
        booking: &PgPool,
        client: &async_nats::Client,
        accepted: BTreeSet<String>,
        poison: Vec<String>,
    ) -> anyhow::Result<Self> {
        let executions = sqlx::query_as::<_, (String, String, String, String)>(
            "SELECT execution_id::text, event_id, state, correlation_id FROM executions",
        )
        .fetch_all(ledger)
        .await?
        .into_iter()
        .map(|(id, event_id, state, correlation_id)| Execution {
            id,
            event_id,
            state,
            correlation_id,
        })
        .collect();
        let mut journal: BTreeMap<String, Vec<Step>> = BTreeMap::new();
        let rows = sqlx::query_as::<_, (String, i64, Option<String>, String)>(
            "SELECT execution_id::text, seq, from_state, to_state FROM journal
             ORDER BY execution_id, seq",
        )
        .fetch_all(ledger)
        .await?;
        for (id, seq, from, to) in rows {
            journal.entry(id).or_default().push(Step { seq, from, to });
        }
        let keys = sqlx::query_as::<_, (String, String, Option<String>)>(
            "SELECT key, state, result->>'external_id' FROM idempotency_keys",
        )
        .fetch_all(ledger)
        .await?
        .into_iter()
        .map(|(key, state, external)| (key, (state, external)))
        .collect();
        type Row = (i64, Option<String>, String, String, String, String);
        let dead_letters = sqlx::query_as::<_, Row>(
            "SELECT id, execution_id::text, failure_class, reason, correlation_id,
                    encode(payload, 'escape') FROM dead_letters ORDER BY id",
        )
        .fetch_all(ledger)
        .await?
        .into_iter()
        .map(
            |(id, execution_id, class, reason, correlation_id, payload)| DeadLetter {
                id,
                execution_id,
                class,
                reason,
                correlation_id,
                payload,
            },
        )
        .collect();
        let reviews = sqlx::query_as::<_, (String, String)>(
            "SELECT execution_id::text, correlation_id FROM review_items",
        )
        .fetch_all(ledger)
        .await?;
        let mut bookings: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let rows = sqlx::query_as::<_, (Option<String>, String)>(
            "SELECT idempotency_key, booking_id::text FROM bookings ORDER BY created_at",
        )
        .fetch_all(booking)
        .await?;
        for (key, id) in rows {
            bookings
                .entry(key.unwrap_or_default())
                .or_default()
                .push(id);
        }
        let messages = sqlx::query_as::<_, (Option<String>, i64)>(
            "SELECT execution_id, count(*) FROM messages GROUP BY execution_id",
        )
        .fetch_all(booking)
        .await?
        .into_iter()
        .map(|(id, n)| (id.unwrap_or_default(), usize::try_from(n).unwrap_or(0)))
        .collect();
        let mut stored = read_stream(client, StreamKind::Pipeline, "pipeline").await?;
        stored.extend(read_stream(client, StreamKind::Events, "events").await?);
        Ok(Self {
            accepted,
            poison,
            executions,
            journal,
            keys,
            dead_letters,
            reviews,
            bookings,
            messages,
            stored,
        })
    }
}

/// Every message of one stream, by sequence (limits retention keeps them).
async fn read_stream(
    client: &async_nats::Client,
    kind: StreamKind,
    label: &'static str,
) -> anyhow::Result<Vec<Stored>> {
    let subjects = sluice_core::Subjects::new(PREFIX)?;
    let mut stream = jetstream::new(client.clone())
        .get_stream(subjects.stream(kind))
        .await?;
    let state = stream.info().await?.state.clone();
    let mut out = Vec::new();
    if state.messages == 0 {
        return Ok(out);
    }
    for seq in state.first_sequence..=state.last_sequence {
        let Ok(message) = stream.get_raw_message(seq).await else {
            continue;
        };
        let header = |name: &str| message.headers.get(name).map(|v| v.to_string());
        let (execution_id, correlation_id) = match kind {
            StreamKind::Events => {
                let body: Value = serde_json::from_slice(&message.payload).unwrap_or_default();
                let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
                (field("execution_id"), field("correlation_id"))
            }
            _ => (
                header(headers::EXECUTION_ID),
                header(headers::CORRELATION_ID),
            ),
        };
        out.push(Stored {
            stream: label,
            subject: message.subject.to_string(),
            execution_id,
            correlation_id,
        });
    }
    Ok(out)
}
