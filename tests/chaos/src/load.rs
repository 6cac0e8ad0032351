//! The upstream: a seeded stream of reservation messages, half as signed
//! webhooks, half as NATS input, about a fifth of them sent twice (some
//! after the broker's dedupe window). Like a real upstream, a send is
//! retried until Sluice accepts it (a 202, or JetStream's publish ack).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use serde_json::{Value, json};
use sluice_ingest::signature::{self, Secret};
use sluice_testkit::fake_model::{Answer, FakeModel};

use crate::args::Profile;
use crate::log::Log;
use crate::setup::{DEDUPE_WINDOW, PREFIX, SOURCE, WEBHOOK_SECRET};

const TIMES: [&str; 4] = ["13:00", "14:30", "20:00", "21:30"];
const PARTY_SIZES: u64 = 8;
/// How long one send is retried before it counts as never accepted.
const SEND_DEADLINE: Duration = Duration::from_secs(300);

/// How an event reaches Sluice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `POST /v1/events/whatsapp`, Standard Webhooks signature.
    Webhook,
    /// `<prefix>.in.whatsapp.messages` with `Nats-Msg-Id`.
    Nats,
}

/// One upstream event.
#[derive(Debug, Clone)]
pub struct Event {
    /// Its id (`webhook-id`, payload `id`, `Nats-Msg-Id`).
    pub id: String,
    /// Its channel.
    pub via: Via,
    /// The WhatsApp payload.
    pub payload: Value,
}

/// One planned send.
#[derive(Debug, Clone)]
pub struct Send {
    /// When, from the start of the load.
    pub at: Duration,
    /// Which event.
    pub event: usize,
    /// Whether it repeats an earlier send.
    pub duplicate: bool,
}

/// Input Sluice can never accept (not JSON, or not the source's schema),
/// published over NATS: it must end in the dead-letter index with a reason.
#[derive(Debug, Clone)]
pub struct Poison {
    /// When, from the start of the load.
    pub at: Duration,
    /// The marker in its payload (and its `Nats-Msg-Id`).
    pub marker: String,
    /// The payload.
    pub payload: String,
}

/// The events and the send plan of a seed.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The events.
    pub events: Vec<Event>,
    /// Every send, in time order.
    pub sends: Vec<Send>,
    /// The booking date every message asks for.
    pub date: String,
    /// Undeliverable input, about one message in fifty.
    pub poison: Vec<Poison>,
}

impl Plan {
    /// The plan of `seed` for `profile`.
    pub fn new(profile: &Profile, seed: u64, date: String) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut events = Vec::with_capacity(profile.events);
        let mut sends = Vec::new();
        let mut poison = Vec::new();
        for n in 0..profile.events {
            let party = rng.u64(1..=PARTY_SIZES);
            let time = TIMES[rng.usize(..TIMES.len())];
            let id = format!("wamid.chaos-{seed}-{n}");
            let payload = json!({
                "id": id,
                "from": format!("+346{:08}", n % 100_000_000),
                "name": "Ana",
                "text": text(party, &date, time),
            });
            let via = if rng.bool() { Via::Webhook } else { Via::Nats };
            events.push(Event { id, via, payload });
            let at = Duration::from_secs_f64(n as f64 / profile.rate);
            sends.push(Send {
                at,
                event: n,
                duplicate: false,
            });
            if n % 50 == 25 {
                let marker = format!("chaos-poison-{seed}-{n}");
                let payload = if rng.bool() {
                    format!("not json at all: {marker}")
                } else {
                    json!({"id": marker, "text": 42}).to_string()
                };
                poison.push(Poison {
                    at,
                    marker,
                    payload,
                });
            }
            if rng.f64() < profile.duplicate_rate {
                let later = if rng.f64() < profile.late_share {
                    DEDUPE_WINDOW + Duration::from_millis(rng.u64(1_000..6_000))
                } else {
                    Duration::from_millis(rng.u64(0..1_000))
                };
                sends.push(Send {
                    at: at + later,
                    event: n,
                    duplicate: true,
                });
            }
        }
        sends.sort_by_key(|s| s.at);
        Self {
            events,
            sends,
            date,
            poison,
        }
    }

    /// Scripts the fake model to answer each message as the extractor reads
    /// it (so they agree and the gate decides automatically).
    pub fn script(&self, model: &FakeModel) {
        for party in 1..=PARTY_SIZES {
            for time in TIMES {
                let contract = json!({"action": "create_booking", "name": "Ana",
                    "party_size": party, "date": self.date, "time": time});
                model.script(
                    text(party, &self.date, time).as_str(),
                    Answer::Json(contract),
                );
            }
        }
    }
}

fn text(party: u64, date: &str, time: &str) -> String {
    format!("We are {party}, {date}, {time}")
}

/// What became of the sends.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Events accepted at least once, with the seconds their first accept took.
    pub accepted: BTreeMap<String, f64>,
    /// Sends made (attempts included).
    pub attempts: u64,
    /// Duplicate sends accepted (answered like the first).
    pub duplicates: u64,
    /// Events whose first send was refused for good (a 4xx), with the reason.
    pub refused: Vec<(String, String)>,
    /// Events never accepted within the deadline.
    pub never_accepted: Vec<String>,
    /// Markers of the poison messages JetStream acknowledged.
    pub poison: Vec<String>,
}

/// Sends the plan, pacing by its times, and returns what was accepted.
pub async fn run(
    plan: Arc<Plan>,
    ingest_url: String,
    nats: async_nats::Client,
    log: Log,
) -> anyhow::Result<Outcome> {
    let secret = Secret::parse(WEBHOOK_SECRET)?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let jetstream = async_nats::jetstream::new(nats);
    let outcome = Arc::new(Mutex::new(Outcome::default()));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, send) in plan.sends.iter().cloned().enumerate() {
        if let Some(wait) = send.at.checked_sub(start.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        if i % 500 == 0 {
            log.line(format!("load: {i} of {} sends", plan.sends.len()));
        }
        let sender = Sender {
            event: plan.events[send.event].clone(),
            http: http.clone(),
            url: format!("{ingest_url}/v1/events/{SOURCE}"),
            jetstream: jetstream.clone(),
            secret: secret.clone(),
            outcome: outcome.clone(),
        };
        tasks.spawn(async move { sender.send(send.duplicate).await });
    }
    for poison in plan.poison.iter().cloned() {
        let (jetstream, outcome) = (jetstream.clone(), outcome.clone());
        tasks.spawn(async move {
            if let Some(wait) = poison.at.checked_sub(start.elapsed()) {
                tokio::time::sleep(wait).await;
            }
            let deadline = Instant::now() + SEND_DEADLINE;
            while Instant::now() < deadline {
                if publish(&jetstream, &poison.marker, poison.payload.clone())
                    .await
                    .is_ok()
                {
                    let mut o = outcome.lock().unwrap_or_else(PoisonError::into_inner);
                    o.poison.push(poison.marker);
                    return;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let out = outcome
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    Ok(out)
}

struct Sender {
    event: Event,
    http: reqwest::Client,
    url: String,
    jetstream: async_nats::jetstream::Context,
    secret: Secret,
    outcome: Arc<Mutex<Outcome>>,
}

impl Sender {
    async fn send(&self, duplicate: bool) {
        let start = Instant::now();
        loop {
            self.with(|o| o.attempts += 1);
            match self.once().await {
                Ok(()) => {
                    let took = start.elapsed().as_secs_f64();
                    self.with(|o| {
                        if duplicate {
                            o.duplicates += 1;
                        }
                        o.accepted.entry(self.event.id.clone()).or_insert(took);
                    });
                    return;
                }
                Err(Attempt::Refused(reason)) => {
                    self.with(|o| o.refused.push((self.event.id.clone(), reason)));
                    return;
                }
                Err(Attempt::Retry) if start.elapsed() > SEND_DEADLINE => {
                    self.with(|o| o.never_accepted.push(self.event.id.clone()));
                    return;
                }
                Err(Attempt::Retry) => tokio::time::sleep(Duration::from_millis(300)).await,
            }
        }
    }

    fn with(&self, f: impl FnOnce(&mut Outcome)) {
        f(&mut self.outcome.lock().unwrap_or_else(PoisonError::into_inner));
    }

    async fn once(&self) -> Result<(), Attempt> {
        let body = self.event.payload.to_string();
        match self.event.via {
            Via::Webhook => {
                let ts = chrono::Utc::now().timestamp();
                let sig = signature::sign(&self.secret, &self.event.id, ts, body.as_bytes());
                let answer = self
                    .http
                    .post(&self.url)
                    .header("content-type", "application/json")
                    .header(signature::ID_HEADER, &self.event.id)
                    .header(signature::TIMESTAMP_HEADER, ts.to_string())
                    .header(signature::SIGNATURE_HEADER, sig)
                    .body(body)
                    .send()
                    .await
                    .map_err(|_| Attempt::Retry)?;
                let status = answer.status();
                if status.is_success() {
                    Ok(())
                } else if status.is_server_error() || status.as_u16() == 429 {
                    Err(Attempt::Retry)
                } else {
                    let text = answer.text().await.unwrap_or_default();
                    Err(Attempt::Refused(format!("{status}: {text}")))
                }
            }
            Via::Nats => publish(&self.jetstream, &self.event.id, body)
                .await
                .map_err(|()| Attempt::Retry),
        }
    }
}

/// Publishes to the source's NATS input and waits for JetStream's ack.
async fn publish(
    jetstream: &async_nats::jetstream::Context,
    msg_id: &str,
    body: String,
) -> Result<(), ()> {
    let mut headers = HeaderMap::new();
    headers.insert(sluice_core::headers::MSG_ID, msg_id);
    let subject = format!("{PREFIX}.in.{SOURCE}.messages");
    let ack = jetstream
        .publish_with_headers(subject, headers, body.into())
        .await
        .map_err(drop)?;
    match tokio::time::timeout(Duration::from_secs(5), ack).await {
        Ok(Ok(_)) => Ok(()),
        _ => Err(()),
    }
}

enum Attempt {
    Retry,
    Refused(String),
}
