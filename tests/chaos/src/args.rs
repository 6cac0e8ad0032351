//! Command line and profiles.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Reliability harness: crashes, restarts, duplicates, with nothing lost.
#[derive(Debug, Parser)]
#[command(name = "sluice-chaos")]
pub struct Args {
    /// How much load and how many faults.
    #[arg(long, value_enum, default_value = "smoke")]
    pub profile: ProfileName,
    /// Seed of the event stream and the fault schedule (the same seed replays
    /// the same schedule); random when absent, and printed either way.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Overrides the profile's number of events.
    #[arg(long)]
    pub events: Option<usize>,
    /// Overrides the profile's sending rate (events per second).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Where the service binaries are (`sluice-ingest`, …, `booking-service`,
    /// `sluice`); default: next to this binary [env: SLUICE_CHAOS_BIN_DIR].
    #[arg(long, env = "SLUICE_CHAOS_BIN_DIR")]
    pub bin_dir: Option<PathBuf>,
    /// The nats-server binary (≥ 2.11) [env: SLUICE_CHAOS_NATS_SERVER];
    /// default: `.dev/venv/bin/nats-server` of the repository, then `PATH`.
    #[arg(long, env = "SLUICE_CHAOS_NATS_SERVER")]
    pub nats_server: Option<PathBuf>,
    /// Folder of Postgres's `initdb` and `pg_ctl` [env: SLUICE_CHAOS_PG_BIN].
    #[arg(
        long,
        env = "SLUICE_CHAOS_PG_BIN",
        default_value = "/usr/lib/postgresql/15/bin"
    )]
    pub pg_bin: PathBuf,
    /// The run's folder (logs, data, report.json); a fresh temp folder when
    /// absent, removed after a passing run unless `--keep`.
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Keep the run's folder even when every invariant held.
    #[arg(long)]
    pub keep: bool,
}

/// The named profiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProfileName {
    /// CI: ≈1,000 events, ≥10 kills, one broker and one database restart.
    Smoke,
    /// The long run: 10,000 events, ≥60 kills, 20 stops, 3 + 3 restarts.
    Long,
    /// The self-test: effect idempotency disabled in the executor; the run
    /// must fail with duplicate effects.
    Mutant,
    /// Steady load without faults (1,200 events at 20/s, duplicates as
    /// usual): each service's peak memory under load, in its own process,
    /// for `scripts/bench.sh`.
    Load,
}

/// Load and faults of one run.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Its name.
    pub name: ProfileName,
    /// Distinct upstream events.
    pub events: usize,
    /// Sending rate, events per second.
    pub rate: f64,
    /// Share of events sent more than once.
    pub duplicate_rate: f64,
    /// Share of duplicates sent after the broker's dedupe window.
    pub late_share: f64,
    /// SIGKILLs of service processes (each restarted after a pause).
    pub kills: usize,
    /// SIGSTOP/SIGCONT pairs.
    pub stops: usize,
    /// nats-server crash restarts.
    pub nats_restarts: usize,
    /// Ledger Postgres crash restarts.
    pub pg_restarts: usize,
    /// Booking-service faults (latency, 5xx, hangs, apply-then-drop).
    pub target_faults: usize,
    /// Model faults (invalid JSON, timeouts), each a few seconds long.
    pub model_faults: usize,
    /// Redelivery bursts: stored stage messages delivered again under a new
    /// message id, as JetStream does when an ack is lost.
    pub redeliveries: usize,
    /// Run the executor with the ledger's guard skipped (the mutant).
    pub mutant: bool,
    /// Latency of every booking from the start, in milliseconds: keeps
    /// effects in flight long enough for redeliveries to overlap them.
    pub target_latency_ms: u64,
}

impl Profile {
    /// The profile `name`, with the command line's overrides.
    pub fn new(args: &Args) -> Self {
        let mut profile = match args.profile {
            ProfileName::Smoke => Self {
                name: ProfileName::Smoke,
                events: 1_000,
                rate: 6.0,
                duplicate_rate: 0.2,
                late_share: 0.4,
                kills: 12,
                stops: 4,
                nats_restarts: 1,
                pg_restarts: 1,
                target_faults: 8,
                model_faults: 4,
                redeliveries: 6,
                mutant: false,
                target_latency_ms: 0,
            },
            ProfileName::Long => Self {
                name: ProfileName::Long,
                events: 10_000,
                rate: 8.0,
                kills: 64,
                stops: 20,
                nats_restarts: 3,
                pg_restarts: 3,
                target_faults: 60,
                model_faults: 20,
                redeliveries: 40,
                duplicate_rate: 0.2,
                late_share: 0.4,
                mutant: false,
                target_latency_ms: 0,
            },
            ProfileName::Mutant => Self {
                name: ProfileName::Mutant,
                events: 150,
                rate: 10.0,
                duplicate_rate: 0.2,
                late_share: 0.4,
                kills: 0,
                stops: 0,
                nats_restarts: 0,
                pg_restarts: 0,
                target_faults: 0,
                model_faults: 0,
                redeliveries: 12,
                mutant: true,
                target_latency_ms: 600,
            },
            ProfileName::Load => Self {
                name: ProfileName::Load,
                events: 1_200,
                rate: 20.0,
                duplicate_rate: 0.2,
                late_share: 0.4,
                kills: 0,
                stops: 0,
                nats_restarts: 0,
                pg_restarts: 0,
                target_faults: 0,
                model_faults: 0,
                redeliveries: 0,
                mutant: false,
                target_latency_ms: 0,
            },
        };
        if let Some(events) = args.events {
            profile.events = events;
        }
        if let Some(rate) = args.rate {
            profile.rate = rate.max(0.1);
        }
        profile
    }

    /// How long the sending (and fault) phase lasts, in seconds.
    pub fn send_secs(&self) -> f64 {
        self.events as f64 / self.rate
    }
}
