//! Scheduled sources, fired by ingest against real NATS and Postgres: one
//! execution per slot across two replicas (and after the lease holder
//! dies), missed slots after a downtime by the declared policy, a slot
//! fired twice is one execution, and no overlapping runs unless allowed.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sluice_bus::Bus;
use sluice_core::{ExecutionId, State};
use sluice_ledger::{ExecutionFilter, Origin, Transition};
use sluice_testkit::{TestDb, TestLedger, TestNats, unique_token};

use crate::common::{Running, WORKFLOW, options, topology};

const SOURCE: &str = "tick";

/// A sources folder holding one schedule that fires every second.
fn sources(catch_up: &str, allow_overlap: bool) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("sluice-schedule-{}", unique_token()));
    std::fs::create_dir_all(&dir)?;
    let spec = format!(
        "name = \"{SOURCE}\"\nworkflows = [\"{WORKFLOW}\"]\n\n[schedule]\n\
         cron = \"* * * * * *\"\ntimezone = \"Europe/Madrid\"\n\
         catch_up = \"{catch_up}\"\nallow_overlap = {allow_overlap}\n\n\
         [schedule.payload]\nkind = \"tick\"\n"
    );
    std::fs::write(dir.join("tick.toml"), spec)?;
    Ok(dir)
}

struct World {
    nats: TestNats,
    ledger: TestLedger,
    sources: PathBuf,
    _db: TestDb,
}

impl World {
    async fn new(catch_up: &str, allow_overlap: bool) -> anyhow::Result<Self> {
        let nats = TestNats::new().await?;
        Bus::new(nats.client.clone(), nats.subjects.clone())
            .provision(&topology())
            .await?;
        let db = TestDb::new().await?;
        let ledger = TestLedger::start(&db).await?;
        Ok(Self {
            nats,
            ledger,
            sources: sources(catch_up, allow_overlap)?,
            _db: db,
        })
    }

    /// An ingest replica looking at the schedule five times a second.
    async fn replica(&self) -> anyhow::Result<Running> {
        let mut o = options(
            &self.nats.url,
            self.nats.subjects.prefix(),
            &format!("http://{}", self.ledger.addr),
        );
        o.sources_dir = self.sources.clone();
        o.schedule_tick_ms = 200;
        o.schedule_lease_ms = 1_500;
        Running::start(o).await
    }

    /// The slots that have an execution, oldest first.
    async fn fired(&self) -> anyhow::Result<Vec<DateTime<Utc>>> {
        let filter = ExecutionFilter {
            workflow: Some(WORKFLOW.into()),
            limit: 500,
            ..Default::default()
        };
        let page = self.ledger.client.list_executions(&filter).await?;
        let mut slots: Vec<DateTime<Utc>> = page
            .executions
            .iter()
            .filter(|e| e.source == SOURCE)
            .map(|e| e.event_id.parse())
            .collect::<Result<_, _>>()?;
        slots.sort();
        Ok(slots)
    }

    async fn finish(self) -> anyhow::Result<()> {
        std::fs::remove_dir_all(&self.sources).ok();
        self.nats.cleanup().await
    }
}

/// Whole seconds between consecutive slots: all 1 means none missing.
fn gaps(slots: &[DateTime<Utc>]) -> Vec<i64> {
    slots
        .windows(2)
        .map(|w| (w[1] - w[0]).num_seconds())
        .collect()
}

#[tokio::test]
async fn two_replicas_fire_each_slot_once_and_the_survivor_takes_over() -> anyhow::Result<()> {
    let world = World::new("all", true).await?;
    let (a, b) = (world.replica().await?, world.replica().await?);
    tokio::time::sleep(Duration::from_secs(4)).await;
    // One of them dies; the other takes the lease over and catches up.
    a.stop().await?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    b.stop().await?;
    let fired = world.fired().await?;
    assert!(fired.len() >= 6, "{fired:?}");
    assert!(
        gaps(&fired).iter().all(|g| *g == 1),
        "one execution per slot, none missing: {fired:?}"
    );
    // The stream holds exactly one interpret message per slot.
    let stream = world
        .nats
        .subjects
        .stream(sluice_core::subjects::StreamKind::Pipeline);
    let messages = crate::common::stream_count(&world.nats.jetstream, &stream).await?;
    assert_eq!(messages, fired.len() as u64);
    world.finish().await
}

/// What fired across a downtime: how many slots of the downtime, how many
/// of those were certainly missed (due more than the grace before the
/// restart, so never on time), and the gaps between fired slots.
struct Downtime {
    during: usize,
    missed_fired: usize,
    gaps: Vec<i64>,
}

/// Runs a replica, stops it for `down`, runs one again.
async fn with_downtime(catch_up: &str, down: Duration) -> anyhow::Result<Downtime> {
    let world = World::new(catch_up, true).await?;
    let first = world.replica().await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    first.stop().await?;
    let stopped_at = Utc::now();
    // Past the lease, so the next replica finds it free.
    tokio::time::sleep(down).await;
    let restarted_at = Utc::now();
    let second = world.replica().await?;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    second.stop().await?;
    let fired = world.fired().await?;
    world.finish().await?;
    let during = fired
        .iter()
        .filter(|s| **s > stopped_at && **s < restarted_at)
        .count();
    // The grace is two ticks and a second (1.4 s); a little more for the
    // clock reads around it.
    let surely_missed = restarted_at - chrono::Duration::milliseconds(1_600);
    let missed_fired = fired
        .iter()
        .filter(|s| **s > stopped_at && **s < surely_missed)
        .count();
    Ok(Downtime {
        during,
        missed_fired,
        gaps: gaps(&fired),
    })
}

#[tokio::test]
async fn missed_slots_are_handled_by_the_declared_policy() -> anyhow::Result<()> {
    let down = Duration::from_secs(5);
    let all = with_downtime("all", down).await?;
    assert!(
        all.during >= 4,
        "every missed slot fired: {} ({:?})",
        all.during,
        all.gaps
    );
    assert!(all.gaps.iter().all(|g| *g == 1), "{:?}", all.gaps);

    // Slots due within the grace of the new replica's first tick are on
    // time and fire whatever the policy; the rest of the downtime's were
    // missed, and the policy decides those.
    let once = with_downtime("once", down).await?;
    assert!(
        once.during >= 1,
        "the latest missed slot fired ({:?})",
        once.gaps
    );
    assert!(
        once.missed_fired <= 1,
        "only the latest missed: {} ({:?})",
        once.missed_fired,
        once.gaps
    );
    assert_eq!(
        once.gaps.iter().filter(|g| **g > 1).count(),
        1,
        "{:?}",
        once.gaps
    );

    let skip = with_downtime("skip", down).await?;
    assert_eq!(skip.missed_fired, 0, "none missed fired ({:?})", skip.gaps);
    assert!(
        skip.during <= 2,
        "at most the on-time ones: {} ({:?})",
        skip.during,
        skip.gaps
    );
    assert_eq!(
        skip.gaps.iter().filter(|g| **g > 1).count(),
        1,
        "{:?}",
        skip.gaps
    );
    Ok(())
}

#[tokio::test]
async fn a_slot_fired_twice_is_one_execution() -> anyhow::Result<()> {
    let world = World::new("all", true).await?;
    let replica = world.replica().await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    replica.stop().await?;
    let before = world.fired().await?;
    // As if the replica had crashed after firing and before recording it:
    // the schedule's record goes back, and the same slots fire again.
    let store = world
        .nats
        .jetstream
        .get_key_value(world.nats.subjects.schedules_bucket())
        .await?;
    let entry = store
        .get(SOURCE)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no record"))?;
    let mut record: serde_json::Value = serde_json::from_slice(&entry)?;
    record["handled_until"] = serde_json::json!(before[0] - chrono::Duration::milliseconds(500));
    record["expires_at_ms"] = serde_json::json!(0);
    store
        .put(SOURCE, serde_json::to_vec(&record)?.into())
        .await?;
    let again = world.replica().await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    again.stop().await?;
    let after = world.fired().await?;
    assert!(after.len() > before.len(), "it went on firing: {after:?}");
    assert_eq!(
        &after[..before.len()],
        &before[..],
        "the refired slots are the same executions"
    );
    assert!(gaps(&after).iter().all(|g| *g == 1), "{after:?}");
    world.finish().await
}

#[tokio::test]
async fn a_slot_waits_while_the_previous_one_runs() -> anyhow::Result<()> {
    let world = World::new("once", false).await?;
    let replica = world.replica().await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Nothing takes the executions further than ingest: the first is still
    // running, so no second slot started.
    let fired = world.fired().await?;
    assert_eq!(fired.len(), 1, "{fired:?}");
    // It finishes (here: closed as if a rule rejected it); the next fires.
    let id = ExecutionId::derive(
        SOURCE,
        &fired[0].format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        WORKFLOW,
    );
    let mut from = State::Validated;
    for to in [
        State::ModelRequested,
        State::ModelCompleted,
        State::OutputValidated,
        State::GateDecided,
        State::Closed,
    ] {
        world
            .ledger
            .client
            .record_transition(&Transition {
                execution_id: id,
                from: Some(from),
                to,
                stage: "gate".into(),
                generation: "0".into(),
                detail: None,
                exception_reason: None,
                final_outcome: None,
                origin: Origin::default(),
            })
            .await?;
        from = to;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    replica.stop().await?;
    let after = world.fired().await?;
    assert!(after.len() >= 2, "{after:?}");
    world.finish().await
}
