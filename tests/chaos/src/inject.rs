//! Applying the schedule: each fault lands at its offset (faults overlap:
//! a kill's pause does not hold up the next fault), is logged with what was
//! in flight when it landed, and is undone after its pause.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sluice_core::headers::MSG_ID;
use sluice_core::subjects::StreamKind;
use sluice_testkit::fake_model::{Answer, FakeModel};

use crate::engines::{Nats, Postgres};
use crate::faults::{Endpoint, Fault, ModelFault, Planned, TargetFault};
use crate::fleet::Fleet;
use crate::log::Log;
use crate::probe::Sampler;
use crate::setup::PREFIX;

/// Everything a fault may act on.
#[derive(Clone)]
pub struct Chaos {
    /// The service processes.
    pub fleet: Fleet,
    /// The broker.
    pub nats: Arc<tokio::sync::Mutex<Nats>>,
    /// The ledger's Postgres.
    pub postgres: Arc<Postgres>,
    /// The booking service's base URL.
    pub booking_url: String,
    /// The fake model.
    pub model: FakeModel,
    /// In-flight counts.
    pub sampler: Sampler,
    /// The run's log.
    pub log: Log,
    /// A connection to the broker (for redeliveries).
    pub client: async_nats::Client,
    /// Faults applied, by kind.
    pub applied: Arc<Mutex<BTreeMap<&'static str, u64>>>,
}

impl Chaos {
    /// Applies `schedule`, each fault at its offset from now; returns when
    /// every fault has been applied and undone.
    pub async fn run(&self, schedule: Vec<Planned>) {
        let start = Instant::now();
        let mut undo = tokio::task::JoinSet::new();
        for (n, planned) in schedule.into_iter().enumerate() {
            if let Some(wait) = planned.at.checked_sub(start.elapsed()) {
                tokio::time::sleep(wait).await;
            }
            let this = self.clone();
            undo.spawn(async move { this.apply(n + 1, planned.fault).await });
        }
        while undo.join_next().await.is_some() {}
    }

    async fn apply(&self, n: usize, fault: Fault) {
        let in_flight = self.sampler.describe();
        let mut held = None;
        match self.land(fault).await {
            Ok(Landed::Skipped) => self.log.line(format!("fault #{n}: {fault}: skipped")),
            Ok(landed) => {
                let what = match landed {
                    Landed::Process(name, pid) => {
                        held = Some(name);
                        format!(": {name} (pid {pid})")
                    }
                    Landed::Done(what) => what,
                    Landed::Skipped => String::new(),
                };
                self.count(fault.kind());
                self.log
                    .line(format!("fault #{n}: {fault}{what} — {in_flight}"));
            }
            Err(err) => self
                .log
                .line(format!("fault #{n}: {fault}: FAILED {err:#}")),
        }
        if let Err(err) = self.undo(fault, held).await {
            self.log
                .line(format!("fault #{n}: undoing {fault}: FAILED {err:#}"));
        }
    }

    fn count(&self, kind: &'static str) {
        let mut applied = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        *applied.entry(kind).or_default() += 1;
    }

    /// Lands the fault.
    async fn land(&self, fault: Fault) -> anyhow::Result<Landed> {
        let done = |what: String| Landed::Done(what);
        Ok(match fault {
            Fault::Kill { service, .. } => match self.fleet.kill(service) {
                Some((name, pid)) => Landed::Process(name, pid),
                None => Landed::Skipped,
            },
            Fault::Stop { service, .. } => match self.fleet.stop(service) {
                Some((name, pid)) => Landed::Process(name, pid),
                None => Landed::Skipped,
            },
            Fault::NatsRestart { .. } => {
                self.nats.lock().await.crash();
                done(String::new())
            }
            Fault::PostgresRestart { .. } => {
                let pg = self.postgres.clone();
                tokio::task::spawn_blocking(move || pg.crash()).await??;
                done(String::new())
            }
            Fault::Target(endpoint, fault) => {
                self.target(endpoint, fault).await?;
                done(String::new())
            }
            Fault::Model(ModelFault::InvalidJson { .. }) => {
                self.model
                    .outage(Some(Answer::Content("{\"party_size\": four".into())));
                done(String::new())
            }
            Fault::Model(ModelFault::Timeout { .. }) => {
                let late = Answer::Delay(Duration::from_secs(4), Box::new(Answer::Status(504)));
                self.model.outage(Some(late));
                done(String::new())
            }
            Fault::Redeliver {
                count,
                execute_only,
            } => done(format!(
                ": {} delivered again",
                self.redeliver(count, execute_only).await?
            )),
        })
    }

    async fn undo(&self, fault: Fault, held: Option<&'static str>) -> anyhow::Result<()> {
        match fault {
            Fault::Kill { pause, .. } | Fault::Stop { pause, .. } => {
                tokio::time::sleep(pause).await;
                match held {
                    Some(name) => self.fleet.resume(name),
                    None => Ok(()),
                }
            }
            Fault::NatsRestart { pause } => {
                tokio::time::sleep(pause).await;
                self.nats.lock().await.restart().await
            }
            Fault::PostgresRestart { pause } => {
                tokio::time::sleep(pause).await;
                let pg = self.postgres.clone();
                tokio::task::spawn_blocking(move || pg.restart()).await?
            }
            Fault::Target(endpoint, TargetFault::Latency { lasting, .. }) => {
                tokio::time::sleep(lasting).await;
                self.set_faults(endpoint, json!({})).await
            }
            Fault::Model(ModelFault::InvalidJson { lasting } | ModelFault::Timeout { lasting }) => {
                tokio::time::sleep(lasting).await;
                self.model.outage(None);
                Ok(())
            }
            // Counted faults wear off as requests consume them.
            Fault::Target(..) | Fault::Redeliver { .. } => Ok(()),
        }
    }

    async fn target(&self, endpoint: Endpoint, fault: TargetFault) -> anyhow::Result<()> {
        let settings = match fault {
            TargetFault::Latency { ms, .. } => json!({ "latency_ms": ms }),
            TargetFault::Fail { n, status } => json!({ "fail_next": n, "fail_status": status }),
            TargetFault::Hang { n } => json!({ "hang_next": n }),
            TargetFault::ApplyThenDrop { n } => json!({ "drop_response_next": n }),
        };
        self.set_faults(endpoint, settings).await
    }

    /// Sets one endpoint's faults (the other endpoint keeps its own).
    async fn set_faults(&self, endpoint: Endpoint, settings: Value) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let url = format!("{}/admin/faults", self.booking_url);
        let mut faults: Value = http.get(&url).send().await?.json().await?;
        let field = match endpoint {
            Endpoint::Bookings => "bookings",
            Endpoint::Messages => "messages",
        };
        faults[field] = settings;
        let answer = http.post(&url).json(&faults).send().await?;
        anyhow::ensure!(answer.status().is_success(), "{}", answer.status());
        Ok(())
    }

    /// Delivers `count` stored pipeline messages again under a new
    /// `Nats-Msg-Id`: what JetStream does when an acknowledgement is lost,
    /// or a second consumer replica receives a copy.
    async fn redeliver(&self, count: usize, execute_only: bool) -> anyhow::Result<usize> {
        let jetstream = async_nats::jetstream::new(self.client.clone());
        let stream_name = sluice_core::Subjects::new(PREFIX)?.stream(StreamKind::Pipeline);
        let mut stream = jetstream.get_stream(&stream_name).await?;
        let last = stream.info().await?.state.last_sequence;
        let execute = format!("{PREFIX}.stage.execute.");
        let mut sent = 0;
        let mut rng = fastrand::Rng::with_seed(last);
        for _ in 0..count * 20 {
            if sent == count || last == 0 {
                break;
            }
            // Half from the stream's tail (work likely still in flight), half
            // from anywhere (work long finished).
            let seq = if rng.bool() {
                last - rng.u64(0..last.min(60))
            } else {
                rng.u64(1..=last)
            };
            let Ok(message) = stream.get_raw_message(seq).await else {
                continue;
            };
            if execute_only && !message.subject.as_str().starts_with(&execute) {
                continue;
            }
            let mut headers = message.headers.clone();
            let original = headers
                .get(MSG_ID)
                .map(|v| v.to_string())
                .unwrap_or_default();
            let id = format!("{original}:redelivered:{}", uuid_like(&mut rng));
            headers.insert(MSG_ID, id.as_str());
            jetstream
                .publish_with_headers(message.subject.clone(), headers, message.payload.clone())
                .await?
                .await?;
            sent += 1;
        }
        Ok(sent)
    }
}

/// What landing a fault did.
enum Landed {
    /// Nothing to act on.
    Skipped,
    /// A service process was killed or stopped.
    Process(&'static str, u32),
    /// Done, with what to add to the log line.
    Done(String),
}

fn uuid_like(rng: &mut fastrand::Rng) -> String {
    format!("{:016x}", rng.u64(..))
}
