//! The result tables, in Markdown: printed, and written between the
//! markers of `docs/benchmarks.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::ledger_bench::LedgerRun;
use crate::plan::{Load, SYSTEMS, Samples, describe};
use crate::stats::quantile_ms;

/// Where the generated part of `docs/benchmarks.md` starts and ends.
pub const BEGIN: &str = "<!-- bench:begin -->";
/// See [`BEGIN`].
pub const END: &str = "<!-- bench:end -->";

/// Everything one run measured.
pub struct Results {
    /// The command that produced them.
    pub command: String,
    /// Cores the machine has.
    pub cores: usize,
    /// The payload size relayed by the baseline.
    pub payload: usize,
    /// Samples by (load, system index).
    pub samples: BTreeMap<(Load, usize), Samples>,
    /// Ledger calls per pipeline execution, by method.
    pub rpcs: BTreeMap<String, f64>,
    /// Process RSS (MiB): stack idle, and the peak of the run.
    pub rss: (f64, f64),
    /// Peak RSS (MiB) of each service in a process of its own, under load,
    /// from a reliability-harness report, largest first; empty without one.
    pub services: Vec<(String, f64)>,
    /// Ledger-only runs.
    pub ledger: Vec<LedgerRun>,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

impl Results {
    fn throughput(&self, load: Load, system: usize) -> f64 {
        self.samples.get(&(load, system)).map_or(0.0, |s| {
            median(s.rounds.iter().map(|r| r.throughput()).collect())
        })
    }

    fn latencies(&self, load: Load, system: usize) -> Vec<Duration> {
        self.samples
            .get(&(load, system))
            .map_or_else(Vec::new, |s| {
                s.rounds.iter().flat_map(|r| r.latencies.clone()).collect()
            })
    }

    fn loads(&self) -> Vec<Load> {
        let mut loads: Vec<Load> = self.samples.keys().map(|(l, _)| *l).collect();
        loads.dedup();
        loads
    }

    /// The p99 at `load` of `system`, in ms.
    pub fn p99(&self, load: Load, system: usize) -> f64 {
        quantile_ms(&mut self.latencies(load, system), 0.99)
    }

    /// Pipeline throughput over the batched relay's, at the highest
    /// closed-loop concurrency.
    pub fn throughput_ratio(&self) -> Option<(usize, f64)> {
        let top = self.loads().into_iter().rev().find_map(|l| match l {
            Load::Closed(c) => Some(c),
            Load::Open(_) => None,
        })?;
        let load = Load::Closed(top);
        Some((
            top,
            self.throughput(load, 0) / self.throughput(load, 1).max(1e-9),
        ))
    }

    /// The Markdown tables.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(
            md,
            "Machine: {} cores. Command: `{}`. Baseline payload: {} bytes (the pipeline's mean stage message).\n",
            self.cores, self.command, self.payload
        );
        self.throughput_table(&mut md);
        self.latency_table(&mut md);
        self.cpu_table(&mut md);
        self.rpc_table(&mut md);
        let _ = writeln!(
            md,
            "RSS of the whole process (every service, the booking service, both relays and the load generator in one process): {:.1} MiB with the stack idle, {:.1} MiB at the peak of the run.\n",
            self.rss.0, self.rss.1
        );
        self.services_table(&mut md);
        self.ledger_table(&mut md);
        self.targets_table(&mut md);
        md
    }

    fn services_table(&self, md: &mut String) {
        if self.services.is_empty() {
            return;
        }
        let _ = writeln!(
            md,
            "| service, its own process (`scripts/chaos.sh --profile load`, debug build) | peak RSS, MiB |\n|---|---:|"
        );
        for (service, mib) in &self.services {
            let _ = writeln!(md, "| {service} | {mib:.1} |");
        }
        md.push('\n');
    }

    fn ledger_table(&self, md: &mut String) {
        if self.ledger.is_empty() {
            return;
        }
        let _ = writeln!(
            md,
            "| ledger alone | pool | pairs/s, group commit | pairs/s, one statement per call | group commit / one per call | errors |\n|---|---:|---:|---:|---:|---:|"
        );
        for (c, on, off) in self.ledger_pairs() {
            let _ = writeln!(
                md,
                "| concurrency {c} | {} | {:.0} | {:.0} | {:.2} | {} |",
                on.pool,
                on.pairs_per_s,
                off.pairs_per_s,
                on.pairs_per_s / off.pairs_per_s.max(1e-9),
                on.errors + off.errors
            );
        }
        md.push('\n');
    }

    /// Each ledger concurrency's runs with group commit on and off.
    pub fn ledger_pairs(&self) -> Vec<(usize, &LedgerRun, &LedgerRun)> {
        let find = |c: usize, on: bool| {
            self.ledger
                .iter()
                .find(|r| r.concurrency == c && r.group_commit == on)
        };
        let mut concurrencies: Vec<usize> = self.ledger.iter().map(|r| r.concurrency).collect();
        concurrencies.dedup();
        concurrencies
            .into_iter()
            .filter_map(|c| Some((c, find(c, true)?, find(c, false)?)))
            .collect()
    }

    fn targets_table(&self, md: &mut String) {
        let verdict = |met: bool| if met { "met" } else { "not met" };
        let _ = writeln!(md, "| target | measured | |\n|---|---:|---|");
        if let Some((c, ratio)) = self.throughput_ratio() {
            let _ = writeln!(
                md,
                "| pipeline throughput ≥ 50% of the batched relay's (c={c}) | {:.0}% | {} |",
                ratio * 100.0,
                verdict(ratio >= 0.5)
            );
        }
        let open = Load::Open(100);
        if self.samples.contains_key(&(open, 0)) {
            let ratio = self.p99(open, 0) / self.p99(open, 1).max(1e-9);
            let _ = writeln!(
                md,
                "| pipeline p99 at 100/s ≤ 3× the batched relay's | {ratio:.1}× | {} |",
                verdict(ratio <= 3.0)
            );
        }
        // `services` is largest first.
        if let Some((service, mib)) = self.services.first() {
            let _ = writeln!(
                md,
                "| RSS ≤ 50 MiB per service (each its own process, under load; the largest: {service}) | {mib:.1} MiB | {} |",
                verdict(*mib <= 50.0)
            );
        } else if self.rss.1 > 0.0 {
            let _ = writeln!(
                md,
                "| RSS ≤ 50 MiB per service (in-process: the whole process's peak bounds each service's) | {:.1} MiB | {} |",
                self.rss.1,
                if self.rss.1 <= 50.0 {
                    "met"
                } else {
                    "not shown in-process"
                }
            );
        }
        for run in self
            .ledger
            .iter()
            .filter(|r| r.concurrency == 64 && r.group_commit)
        {
            let _ = writeln!(
                md,
                "| ledger Begin+Complete ≥ 5,000 pairs/s at concurrency 64 | {:.0}/s | {} |",
                run.pairs_per_s,
                verdict(run.pairs_per_s >= 5000.0)
            );
        }
        md.push('\n');
    }

    fn throughput_table(&self, md: &mut String) {
        let _ = writeln!(
            md,
            "| closed loop | pipeline exec/s | relay batched | relay one-at-a-time | pipeline / batched | pipeline / one-at-a-time |\n|---|---:|---:|---:|---:|---:|"
        );
        for load in self.loads() {
            if let Load::Closed(_) = load {
                let t: Vec<f64> = (0..SYSTEMS.len())
                    .map(|s| self.throughput(load, s))
                    .collect();
                let _ = writeln!(
                    md,
                    "| {} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} |",
                    describe(load),
                    t[0],
                    t[1],
                    t[2],
                    t[0] / t[1].max(1e-9),
                    t[0] / t[2].max(1e-9)
                );
            }
        }
        md.push('\n');
    }

    fn latency_table(&self, md: &mut String) {
        let _ = writeln!(
            md,
            "| latency (ms) | pipeline p50 / p99 / p99.9 | relay batched | relay one-at-a-time | p99 pipeline / batched |\n|---|---:|---:|---:|---:|"
        );
        for load in self.loads() {
            let mut cells = Vec::new();
            let mut p99 = Vec::new();
            for s in 0..SYSTEMS.len() {
                let mut l = self.latencies(load, s);
                let q = [0.5, 0.99, 0.999].map(|q| quantile_ms(&mut l, q));
                p99.push(q[1]);
                cells.push(format!("{:.1} / {:.1} / {:.1}", q[0], q[1], q[2]));
            }
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {:.2} |",
                describe(load),
                cells[0],
                cells[1],
                cells[2],
                p99[0] / p99[1].max(1e-9)
            );
        }
        md.push('\n');
    }

    fn cpu_table(&self, md: &mut String) {
        let _ = writeln!(
            md,
            "| CPU ms per execution (all loads) | this process | nats-server | postgres | total |\n|---|---:|---:|---:|---:|"
        );
        for (s, name) in SYSTEMS.iter().enumerate() {
            let (mut cpu, mut done) = ((0.0, 0.0, 0.0), 0u64);
            for ((_, system), samples) in &self.samples {
                if *system == s {
                    cpu.0 += samples.cpu.process;
                    cpu.1 += samples.cpu.broker;
                    cpu.2 += samples.cpu.database;
                    done += samples.rounds.iter().map(|r| r.done).sum::<u64>();
                }
            }
            let per = |x: f64| x * 1e3 / (done.max(1) as f64);
            let _ = writeln!(
                md,
                "| {name} | {:.2} | {:.2} | {:.2} | {:.2} |",
                per(cpu.0),
                per(cpu.1),
                per(cpu.2),
                per(cpu.0 + cpu.1 + cpu.2)
            );
        }
        md.push('\n');
    }

    fn rpc_table(&self, md: &mut String) {
        let total: f64 = self.rpcs.values().sum();
        let _ = writeln!(
            md,
            "Ledger round trips per pipeline execution: {total:.2} (counted over a closed loop at concurrency 16 on the drained pipeline, every execution of it finished; the breaker's and the gauges' background calls show as fractions).\n\n| ledger method | calls per execution |\n|---|---:|"
        );
        for (method, per) in &self.rpcs {
            let _ = writeln!(md, "| {method} | {per:.2} |");
        }
        md.push('\n');
    }
}

/// `doc` with the text between [`BEGIN`] and [`END`] replaced by `body`
/// (appended with the markers when they are missing).
pub fn splice(doc: &str, body: &str) -> String {
    match (doc.find(BEGIN), doc.find(END)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{BEGIN}\n{body}{}", &doc[..b], &doc[e..])
        }
        _ => format!("{doc}\n{BEGIN}\n{body}{END}\n"),
    }
}

/// Each service's peak RSS in MiB from a reliability-harness `report.json`
/// (`peak_rss_kib`), largest first.
pub fn service_rss(report: &std::path::Path) -> anyhow::Result<Vec<(String, f64)>> {
    let text = std::fs::read_to_string(report)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", report.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{} is not a harness report: {e}", report.display()))?;
    let Some(peaks) = json["peak_rss_kib"].as_object() else {
        anyhow::bail!("{} has no peak_rss_kib", report.display());
    };
    let mut services: Vec<(String, f64)> = peaks
        .iter()
        .filter_map(|(name, kib)| Some((name.clone(), kib.as_f64()? / 1024.0)))
        .collect();
    services.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(services)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_harness_report_gives_each_services_peak_largest_first() -> anyhow::Result<()> {
        let path = std::env::temp_dir().join(format!("bench-rss-{}.json", std::process::id()));
        std::fs::write(
            &path,
            r#"{"peak_rss_kib": {"gate": 20480, "interpreter": 35840, "ledger": 25600}}"#,
        )?;
        let services = super::service_rss(&path);
        std::fs::remove_file(&path)?;
        assert_eq!(
            services?,
            [
                ("interpreter".to_owned(), 35.0),
                ("ledger".to_owned(), 25.0),
                ("gate".to_owned(), 20.0)
            ]
        );
        let missing = super::service_rss(std::path::Path::new("/nonexistent/report.json"));
        assert!(missing.is_err());
        Ok(())
    }
}
