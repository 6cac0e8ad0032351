//! Scheduled sources: ingest fires them itself, on their cron expression
//! read in their timezone.
//!
//! Exactly one replica fires a schedule: whoever holds its lease, a record
//! in the `<prefix>-schedules` KV bucket taken and renewed by compare-and-set
//! on the entry's revision, so two replicas cannot both win it. The record
//! also says up to which instant the schedule has been handled, which is
//! how slots missed while no replica ran are found after a restart; the
//! declared catch-up policy decides what becomes of them. Each slot is an
//! ordinary accepted event whose id is the slot's instant, so a slot fired
//! twice (a crash between firing and recording, a lease lost mid-tick) is
//! the same execution, not a second one.

mod plan;

use std::str::FromStr as _;
use std::time::Duration;

use async_nats::jetstream::kv;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sluice_core::{CorrelationId, ExecutionId, ScheduleSpec, State};
use sluice_ledger::LedgerClient;
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::accept::{Acceptor, Event};
use crate::sources::Sources;

pub use plan::{Plan, due};

/// One scheduled source, compiled.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The source's name (the executions' source).
    pub source: String,
    /// The workflows each slot starts.
    pub workflows: Vec<String>,
    cron: Cron,
    tz: Tz,
    spec: ScheduleSpec,
    payload: Value,
}

impl Schedule {
    /// Compiles `spec` of source `source`; the error names what is wrong.
    pub fn new(source: &str, workflows: &[String], spec: &ScheduleSpec) -> Result<Self, String> {
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .build()
            .parse(&spec.cron)
            .map_err(|e| format!("source {source}: schedule.cron {:?}: {e}", spec.cron))?;
        let tz = Tz::from_str(&spec.timezone).map_err(|_| {
            format!(
                "source {source}: schedule.timezone {:?} is not an IANA timezone",
                spec.timezone
            )
        })?;
        let payload = serde_json::to_value(&spec.payload).map_err(|e| e.to_string())?;
        Ok(Self {
            source: source.to_owned(),
            workflows: workflows.to_vec(),
            cron,
            tz,
            spec: spec.clone(),
            payload,
        })
    }

    /// The slots after `after` up to and including `until`, oldest first
    /// (at most `limit`).
    pub fn slots(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Vec<DateTime<Utc>> {
        self.cron
            .iter_after(after.with_timezone(&self.tz))
            .map(|t| t.with_timezone(&Utc))
            .take_while(|t| *t <= until)
            .take(limit)
            .collect()
    }

    /// The event id of `slot`: its instant, to the second, in UTC.
    pub fn event_id(slot: DateTime<Utc>) -> String {
        slot.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }
}

/// What the bucket holds per schedule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Record {
    /// The replica that fires it.
    owner: String,
    /// Until when (ms since the epoch); past it, any replica may take over.
    expires_at_ms: i64,
    /// Every slot up to this instant has been fired or deliberately skipped.
    handled_until: Option<DateTime<Utc>>,
    /// The last slot fired, whose executions an overlap check looks at.
    last_fired: Option<DateTime<Utc>>,
}

/// Fires the scheduled sources of one ingest replica.
#[derive(Debug)]
pub struct Scheduler {
    schedules: Vec<Schedule>,
    acceptor: Acceptor,
    ledger: LedgerClient,
    store: kv::Store,
    owner: String,
    tick: Duration,
    lease: Duration,
}

/// How many slots one tick fires at most (a long downtime under
/// `catch_up = "all"` is worked off over several ticks).
const SLOTS_PER_TICK: usize = 100;

impl Scheduler {
    /// The scheduler of `sources`' scheduled sources, or `None` when there
    /// are none.
    pub async fn new(
        sources: &Sources,
        acceptor: Acceptor,
        ledger: LedgerClient,
        bus: &sluice_bus::Bus,
        tick: Duration,
        lease: Duration,
    ) -> Result<Option<Self>, Error> {
        let schedules = sources
            .iter()
            .filter_map(|s| {
                let spec = s.spec.schedule.as_ref()?;
                Some(Schedule::new(&s.spec.name, &s.spec.workflows, spec))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::Schedule)?;
        if schedules.is_empty() {
            return Ok(None);
        }
        let bucket = bus.subjects().schedules_bucket();
        let store = bus
            .jetstream()
            .get_key_value(&bucket)
            .await
            .map_err(|e| Error::Schedule(format!("the schedules bucket {bucket}: {e}")))?;
        let owner = format!("ingest-{}", uuid::Uuid::new_v4().simple());
        Ok(Some(Self {
            schedules,
            acceptor,
            ledger,
            store,
            owner,
            tick,
            lease,
        }))
    }

    /// Ticks until `shutdown`. A failed tick is logged and tried again at
    /// the next one: the bucket and the ledger say where it stopped.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            for schedule in &self.schedules {
                if let Err(err) = self.tick_one(schedule, Utc::now()).await {
                    tracing::warn!(source = %schedule.source, error = %err, "schedule tick failed");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.tick) => {}
            }
        }
    }

    async fn tick_one(&self, schedule: &Schedule, now: DateTime<Utc>) -> Result<(), String> {
        let key = schedule.source.as_str();
        let entry = self.store.entry(key).await.map_err(|e| e.to_string())?;
        let (mut record, revision) = match entry {
            Some(e) if e.operation == kv::Operation::Put => {
                let record: Record = serde_json::from_slice(&e.value).unwrap_or_default();
                (record, Some(e.revision))
            }
            _ => (Record::default(), None),
        };
        let now_ms = now.timestamp_millis();
        if record.owner != self.owner && record.expires_at_ms > now_ms {
            return Ok(()); // Another replica holds it.
        }
        // Take or renew the lease first, by compare-and-set: of two replicas
        // that both saw it free, one write fails and that one stops here.
        record.owner.clone_from(&self.owner);
        record.expires_at_ms = now_ms + i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX);
        // The first time a schedule is ever seen, nothing before now was missed.
        let handled_until = *record.handled_until.get_or_insert(now);
        let mut revision = self.write(key, &record, revision).await?;

        let slots = schedule.slots(handled_until, now, SLOTS_PER_TICK);
        let grace = chrono::Duration::from_std(self.tick * 2 + Duration::from_secs(1))
            .unwrap_or_else(|_| chrono::Duration::seconds(3));
        let plan = due(&slots, schedule.spec.catch_up, now, grace);
        for slot in &plan.fire {
            if !schedule.spec.allow_overlap && self.previous_running(schedule, &record).await? {
                // Not handled: the slot fires once the previous one is done.
                tracing::info!(source = %schedule.source, slot = %slot, "previous slot still running; waiting");
                return Ok(());
            }
            self.fire(schedule, *slot).await?;
            record.last_fired = Some(*slot);
            record.handled_until = Some(*slot);
            revision = self.write(key, &record, Some(revision)).await?;
        }
        // Slots the policy skipped count as handled too.
        if let Some(skipped_to) = plan.handled_until
            && record.handled_until.is_none_or(|h| h < skipped_to)
        {
            record.handled_until = Some(skipped_to);
            self.write(key, &record, Some(revision)).await?;
        }
        Ok(())
    }

    /// Whether an execution of the last fired slot is still running.
    async fn previous_running(&self, schedule: &Schedule, record: &Record) -> Result<bool, String> {
        let Some(last) = record.last_fired else {
            return Ok(false);
        };
        let event_id = Schedule::event_id(last);
        for workflow in &schedule.workflows {
            let id = ExecutionId::derive(&schedule.source, &event_id, workflow);
            match self.ledger.get_execution(id).await {
                Ok((execution, _)) => {
                    let state: State = execution
                        .state
                        .parse()
                        .map_err(|_| execution.state.clone())?;
                    if !state.is_terminal() {
                        return Ok(true);
                    }
                }
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(false)
    }

    async fn fire(&self, schedule: &Schedule, slot: DateTime<Utc>) -> Result<(), String> {
        let event_id = Schedule::event_id(slot);
        let mut data = json!({ "schedule": schedule.source, "scheduled_for": event_id });
        if let (Some(data), Value::Object(extra)) = (data.as_object_mut(), &schedule.payload) {
            for (k, v) in extra {
                data.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        let event = Event {
            source: &schedule.source,
            event_id: &event_id,
            workflows: &schedule.workflows,
            correlation: CorrelationId::generate(),
            data: &data,
            via: "schedule",
            by: None,
            traceparent: None,
        };
        let accepted = self
            .acceptor
            .accept(&event)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(source = %schedule.source, slot = %event_id,
            executions = accepted.executions.len(), "schedule fired");
        Ok(())
    }

    /// Writes `record` under `key` at `revision` (creating it when there is
    /// none); the new revision, or an error when someone else wrote first.
    async fn write(
        &self,
        key: &str,
        record: &Record,
        revision: Option<u64>,
    ) -> Result<u64, String> {
        let value = serde_json::to_vec(record).map_err(|e| e.to_string())?;
        let written = match revision {
            Some(revision) => self
                .store
                .update(key, value.into(), revision)
                .await
                .map_err(|e| e.to_string()),
            None => self
                .store
                .create(key, value.into())
                .await
                .map_err(|e| e.to_string()),
        };
        written.map_err(|e| format!("lost the schedule's lease record to another replica: {e}"))
    }
}

fn is_not_found(e: &sluice_ledger::Error) -> bool {
    match e {
        sluice_ledger::Error::NotFound(_) => true,
        sluice_ledger::Error::Status(s) => s.code() == tonic::Code::NotFound,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use sluice_core::CatchUp;

    use super::*;

    fn spec(cron: &str, timezone: &str) -> ScheduleSpec {
        ScheduleSpec {
            cron: cron.into(),
            timezone: timezone.into(),
            catch_up: CatchUp::Once,
            allow_overlap: false,
            payload: Default::default(),
        }
    }

    #[test]
    fn slots_are_read_in_the_schedules_timezone() -> Result<(), String> {
        let nine = Schedule::new("s", &["w".into()], &spec("0 9 * * *", "Europe/Madrid"))?;
        let after = Utc
            .with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
            .single()
            .ok_or("time")?;
        let until = Utc
            .with_ymd_and_hms(2026, 12, 3, 0, 0, 0)
            .single()
            .ok_or("time")?;
        let slots: Vec<String> = nine
            .slots(after, until, 10)
            .into_iter()
            .map(Schedule::event_id)
            .collect();
        // Nine in Madrid is eight in UTC in winter.
        assert_eq!(slots, ["2026-12-01T08:00:00Z", "2026-12-02T08:00:00Z"]);
        Ok(())
    }

    #[test]
    fn a_bad_expression_or_timezone_is_named() {
        let cron = Schedule::new("s", &[], &spec("every day", "Europe/Madrid")).err();
        assert!(cron.is_some_and(|e| e.contains("schedule.cron")));
        let tz = Schedule::new("s", &[], &spec("0 9 * * *", "Mars/Olympus")).err();
        assert!(tz.is_some_and(|e| e.contains("not an IANA timezone")));
    }
}
