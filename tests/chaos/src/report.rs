//! The run's summary: a table on stderr and `report.json` in the run's folder.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::check::Verdict;
use crate::log::Log;

/// What the run did, for the summary.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// The profile's name.
    pub profile: String,
    /// The seed.
    pub seed: u64,
    /// Distinct events planned.
    pub events: usize,
    /// Events accepted by Sluice.
    pub accepted: usize,
    /// Duplicate sends accepted.
    pub duplicates: u64,
    /// Events refused or never accepted.
    pub not_accepted: usize,
    /// Faults applied, by kind.
    pub faults: BTreeMap<&'static str, u64>,
    /// Process starts per service.
    pub starts: Vec<(&'static str, u32)>,
    /// Seconds of each phase.
    pub phases: Vec<(&'static str, f64)>,
    /// Peak resident memory per service, KiB (of its latest start).
    pub peak_rss_kib: Vec<(&'static str, u64)>,
    /// The commit the harness was built from (when known).
    pub commit: String,
}

/// Prints the summary and writes `report.json`; returns whether every
/// invariant held.
pub fn write(dir: &Path, figures: &Figures, verdicts: &[Verdict], log: &Log) -> bool {
    log.line(format!(
        "summary: profile {} seed {} commit {}: {} events, {} accepted, {} duplicate sends, \
         {} not accepted",
        figures.profile,
        figures.seed,
        figures.commit,
        figures.events,
        figures.accepted,
        figures.duplicates,
        figures.not_accepted
    ));
    log.line(format!("summary: faults {:?}", figures.faults));
    log.line(format!("summary: process starts {:?}", figures.starts));
    log.line(format!("summary: phases (s) {:?}", figures.phases));
    let mib: Vec<String> = figures
        .peak_rss_kib
        .iter()
        .map(|(name, kib)| format!("{name} {:.1}", *kib as f64 / 1024.0))
        .collect();
    log.line(format!(
        "summary: peak RSS per service, MiB (since its last start): {}",
        mib.join(", ")
    ));
    for v in verdicts {
        let mark = if v.held { "PASS" } else { "FAIL" };
        log.line(format!("{mark} {} {}: {}", v.id, v.title, v.summary));
        for violation in &v.violations {
            log.line(format!("     {} violation: {violation}", v.id));
        }
    }
    let held = verdicts.iter().all(|v| v.held);
    let report = json!({
        "profile": figures.profile,
        "seed": figures.seed,
        "commit": figures.commit,
        "events": figures.events,
        "accepted": figures.accepted,
        "duplicate_sends": figures.duplicates,
        "not_accepted": figures.not_accepted,
        "faults": figures.faults,
        "process_starts": figures.starts.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<String, Value>>(),
        "peak_rss_kib": figures.peak_rss_kib.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<String, Value>>(),
        "phases_s": figures.phases.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<String, Value>>(),
        "invariants": verdicts.iter().map(|v| json!({
            "id": v.id, "title": v.title, "held": v.held,
            "summary": v.summary, "violations": v.violations,
        })).collect::<Vec<Value>>(),
        "passed": held,
    });
    if let Err(err) = std::fs::write(dir.join("report.json"), format!("{report:#}\n")) {
        log.line(format!("report.json: {err}"));
    }
    log.line(if held {
        "RESULT: every invariant held".to_owned()
    } else {
        format!("RESULT: invariants violated (details in {})", dir.display())
    });
    held
}
