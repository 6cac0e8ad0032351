//! The interleaved measurement plan: every measurement runs each system
//! back to back, in an order that rotates from round to round, so slow
//! phases of a noisy machine hit every system alike.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use crate::load::{self, Completions, Round, System};
use crate::stats::Cpu;

/// The systems, in report order.
pub const SYSTEMS: [&str; 3] = ["pipeline", "relay (batched)", "relay (one at a time)"];

/// What to measure.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Rounds of every measurement.
    pub rounds: usize,
    /// Closed-loop concurrencies.
    pub concurrencies: Vec<usize>,
    /// How long each closed-loop measurement runs.
    pub closed_for: Duration,
    /// Open-loop rates (executions per second).
    pub rates: Vec<u32>,
    /// How long each open-loop measurement runs.
    pub open_for: Duration,
}

/// One measurement: closed loop at a concurrency or open loop at a rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Load {
    /// A fixed number of executions in flight.
    Closed(usize),
    /// A fixed start rate.
    Open(u32),
}

/// Every round of one system under one load.
#[derive(Debug, Default)]
pub struct Samples {
    /// Each round's result.
    pub rounds: Vec<Round>,
    /// CPU used across the rounds.
    pub cpu: Cpu,
}

/// A system with the subscription that sees its completions.
pub struct Runner<S> {
    /// The system.
    pub system: Arc<S>,
    /// Its announcements.
    pub completions: Completions,
    /// The next execution number.
    pub next: AtomicU64,
}

impl<S: System + 'static> Runner<S> {
    /// Runs `load` once.
    pub async fn measure(&self, load: Load, plan: &Plan) -> (Round, Cpu) {
        let before = Cpu::sample();
        let round = match load {
            Load::Closed(c) => self.closed_loop(c, plan.closed_for).await,
            Load::Open(r) => {
                let system = self.system.clone();
                load::open_loop(system, &self.completions, &self.next, r, plan.open_for).await
            }
        };
        (round, Cpu::sample().since(&before))
    }

    /// `concurrency` executions in flight for `duration`, outside the plan
    /// (warm-up, counting round trips).
    pub async fn closed_loop(&self, concurrency: usize, duration: Duration) -> Round {
        let system = self.system.clone();
        load::closed_loop(system, &self.completions, &self.next, concurrency, duration).await
    }
}

/// Runs `measure(system, load)` for every load of `plan`, each round, for
/// the three systems interleaved; returns the samples by (load, system).
pub async fn run<F, Fut>(plan: &Plan, mut measure: F) -> BTreeMap<(Load, usize), Samples>
where
    F: FnMut(usize, Load) -> Fut,
    Fut: Future<Output = (Round, Cpu)>,
{
    let loads: Vec<Load> = plan
        .concurrencies
        .iter()
        .map(|&c| Load::Closed(c))
        .chain(plan.rates.iter().map(|&r| Load::Open(r)))
        .collect();
    let mut out: BTreeMap<(Load, usize), Samples> = BTreeMap::new();
    for round in 0..plan.rounds {
        for &load in &loads {
            for k in 0..SYSTEMS.len() {
                let system = (k + round) % SYSTEMS.len();
                let (result, cpu) = measure(system, load).await;
                eprintln!(
                    "  round {} {:<24} {:<12} {:>8.0}/s done {:>6} lost {}",
                    round + 1,
                    SYSTEMS[system],
                    describe(load),
                    result.throughput(),
                    result.done,
                    result.lost
                );
                let samples = out.entry((load, system)).or_default();
                samples.cpu.process += cpu.process;
                samples.cpu.broker += cpu.broker;
                samples.cpu.database += cpu.database;
                samples.rounds.push(result);
            }
        }
    }
    out
}

/// `closed c=16` or `open 100/s`.
pub fn describe(load: Load) -> String {
    match load {
        Load::Closed(c) => format!("closed c={c}"),
        Load::Open(r) => format!("open {r}/s"),
    }
}
