//! One run: engines, services, load and faults, drain, dead-letter replays,
//! invariants.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use sluice_testkit::fake_model::FakeModel;

use crate::args::{Args, Profile, ProfileName};
use crate::check::{Snapshot, check_all};
use crate::engines::{Nats, Postgres, spare_port, wait_port};
use crate::fleet::Fleet;
use crate::inject::Chaos;
use crate::load::{self, Plan};
use crate::log::Log;
use crate::probe::{Probe, Sampler};
use crate::report::{self, Figures};
use crate::setup::{self, Layout, PREFIX};
use crate::{drain, faults, replay, tools};

/// Runs the profile; `Ok(true)` when every invariant held.
pub async fn run(args: Args) -> anyhow::Result<bool> {
    let profile = Profile::new(&args);
    // Read now: the checkout may move on while a long run goes.
    let commit = tools::commit();
    let seed = args.seed.unwrap_or_else(|| fastrand::u64(1..1_000_000));
    let dir = match &args.work_dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("sluice-chaos-{seed}-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let log = Log::open(&dir)?;
    log.line(format!(
        "sluice-chaos: profile {:?}, seed {seed} (replay with --seed {seed}), folder {}",
        profile.name,
        dir.display()
    ));
    let bins = tools::bin_dir(args.bin_dir.clone())?;
    let nats_bin = tools::nats_server(args.nats_server.clone())?;
    let mut phases = Vec::new();
    let mut phase = Instant::now();

    let nats = Nats::start(nats_bin, dir.join("nats")).await?;
    let pg_ledger = Arc::new(Postgres::start(&args.pg_bin, dir.join("pg-ledger")).await?);
    let pg_target = Postgres::start(&args.pg_bin, dir.join("pg-target")).await?;
    pg_ledger.create_database("ledger").await?;
    pg_target.create_database("booking").await?;
    let model = FakeModel::start().await?;
    let date = (chrono::Utc::now() + chrono::Days::new(30))
        .format("%Y-%m-%d")
        .to_string();
    let plan = Arc::new(Plan::new(&profile, seed, date));
    plan.script(&model);
    let client = async_nats::connect(nats.url()).await?;
    let bus = sluice_bus::Bus::new(client.clone(), sluice_core::Subjects::new(PREFIX)?);
    bus.provision(&setup::topology())
        .await
        .context("provisioning")?;

    let layout = Layout {
        dir: dir.clone(),
        bin_dir: bins.clone(),
        nats_url: nats.url(),
        ledger_db: pg_ledger.url("ledger"),
        booking_db: pg_target.url("booking"),
        model_url: model.url(),
        ingest_port: spare_port()?,
        ledger_port: spare_port()?,
        booking_port: spare_port()?,
        mutant: profile.mutant,
        target_latency_ms: profile.target_latency_ms,
    };
    layout.write_declarations()?;
    let fleet = Fleet::new(log.clone());
    for spec in layout.specs()? {
        let name = spec.name;
        fleet.start(spec)?;
        let port = match name {
            "booking" => Some(layout.booking_port),
            "ledger" => Some(layout.ledger_port),
            "ingest" => Some(layout.ingest_port),
            _ => None,
        };
        if let Some(port) = port {
            wait_port(port, Duration::from_secs(60))
                .await
                .with_context(|| format!("{name} did not start; see {name}.log"))?;
        }
    }
    let supervisor = fleet.supervise();
    phases.push(("start", phase.elapsed().as_secs_f64()));
    phase = Instant::now();

    let schedule = faults::schedule(&profile, seed);
    log.line(format!("schedule: {} faults", schedule.len()));
    for planned in &schedule {
        log.line(format!(
            "  at {:7.1}s: {}",
            planned.at.as_secs_f64(),
            planned.fault
        ));
    }
    let probe = Probe::new(&layout.ledger_db)?;
    let chaos = Chaos {
        fleet: fleet.clone(),
        nats: Arc::new(tokio::sync::Mutex::new(nats)),
        postgres: pg_ledger.clone(),
        booking_url: layout.booking_url(),
        model: model.clone(),
        sampler: Sampler::start(probe.clone()),
        log: log.clone(),
        client: client.clone(),
        applied: Arc::new(Mutex::new(BTreeMap::new())),
    };
    let sending = tokio::spawn(load::run(
        plan.clone(),
        layout.ingest_url(),
        client.clone(),
        log.clone(),
    ));
    chaos.run(schedule).await;
    let sent = sending.await??;
    fleet.resume_all()?;
    model.outage(None);
    tools::clear_target_faults(&layout.booking_url()).await;
    phases.push(("load and faults", phase.elapsed().as_secs_f64()));
    phase = Instant::now();
    log.line(format!(
        "load done: {} accepted, {} duplicate sends, {} refused, {} never accepted",
        sent.accepted.len(),
        sent.duplicates,
        sent.refused.len(),
        sent.never_accepted.len()
    ));
    for (id, reason) in sent.refused.iter().take(5) {
        log.line(format!("refused: {id}: {reason}"));
    }

    let accepted: BTreeSet<String> = sent.accepted.keys().cloned().collect();
    let limit = Duration::from_secs(if profile.name == ProfileName::Long {
        1800
    } else {
        600
    });
    let awaited = drain::Awaited {
        accepted: &accepted,
        poison: &sent.poison,
    };
    drain::settle(&probe, awaited, Duration::from_secs(60), limit, &log).await;
    phases.push(("drain", phase.elapsed().as_secs_f64()));
    phase = Instant::now();

    let booking_pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&layout.booking_db)
        .await?;
    let replays = replay::twice(&layout, &probe, &booking_pool, awaited, &log).await?;
    phases.push(("dead-letter replays", phase.elapsed().as_secs_f64()));
    phase = Instant::now();

    let snapshot = Snapshot::load(
        probe.pool(),
        &booking_pool,
        &client,
        accepted,
        sent.poison.clone(),
    )
    .await?;
    let verdicts = check_all(&snapshot, &replays);
    phases.push(("checks", phase.elapsed().as_secs_f64()));
    supervisor.abort();
    let figures = Figures {
        profile: format!("{:?}", profile.name).to_lowercase(),
        seed,
        events: plan.events.len(),
        accepted: sent.accepted.len(),
        duplicates: sent.duplicates,
        not_accepted: sent.refused.len() + sent.never_accepted.len(),
        faults: chaos.applied.lock().map(|a| a.clone()).unwrap_or_default(),
        starts: fleet.starts(),
        peak_rss_kib: fleet.peak_rss_kib(),
        phases,
        commit,
    };
    let held = report::write(&dir, &figures, &verdicts, &log);
    fleet.shutdown();
    drop(chaos);
    drop(pg_target);
    drop(pg_ledger);
    if held && !args.keep && args.work_dir.is_none() {
        remove(&dir);
    }
    Ok(held)
}

fn remove(dir: &Path) {
    let _ = std::fs::remove_dir_all(PathBuf::from(dir));
}
