//! The chaos harness as tests: the smoke profile must hold every invariant,
//! and the mutant (effect idempotency disabled in the executor) must be
//! caught — a harness that cannot fail proves nothing.
//!
//! Both are `#[ignore]`d so the workspace's ordinary test run stays fast:
//! they need every service binary built and take minutes. Run them with
//! `cargo build -p … --bins` first (`scripts/chaos.sh` does it), then
//! `cargo nextest run --profile chaos -p sluice-chaos --run-ignored only`
//! or `cargo test -p sluice-chaos --test it -- --ignored --test-threads 1`.
#![allow(clippy::disallowed_methods)] // a test binary: SLUICE_CHAOS_SEED picks the seed

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context as _;
use serde_json::Value;

/// The seed of both runs (`SLUICE_CHAOS_SEED`, default 1).
fn seed() -> String {
    std::env::var("SLUICE_CHAOS_SEED").unwrap_or_else(|_| "1".to_owned())
}

/// Runs the harness binary; returns its exit code and its report.
fn harness(profile: &str) -> anyhow::Result<(i32, Value)> {
    let dir =
        std::env::temp_dir().join(format!("sluice-chaos-it-{profile}-{}", std::process::id()));
    let status = Command::new(env!("CARGO_BIN_EXE_sluice-chaos"))
        .args(["--profile", profile, "--seed", &seed(), "--work-dir"])
        .arg(&dir)
        .status()
        .context("running sluice-chaos")?;
    let code = status.code().unwrap_or(-1);
    anyhow::ensure!(
        code != 2,
        "the harness could not run; see {}",
        dir.display()
    );
    let report = read_report(&dir)?;
    if code == 0 {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok((code, report))
}

fn read_report(dir: &Path) -> anyhow::Result<Value> {
    let path: PathBuf = dir.join("report.json");
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    Ok(serde_json::from_str(&text)?)
}

fn held(report: &Value, id: &str) -> Option<bool> {
    report["invariants"]
        .as_array()?
        .iter()
        .find(|v| v["id"] == id)?["held"]
        .as_bool()
}

#[test]
#[ignore = "minutes long; needs the service binaries (scripts/chaos.sh)"]
fn the_smoke_profile_holds_every_invariant() -> anyhow::Result<()> {
    let (code, report) = harness("smoke")?;
    assert_eq!(code, 0, "{report:#}");
    for id in ["I1", "I2", "I3", "I4", "I5", "I6", "I7"] {
        assert_eq!(held(&report, id), Some(true), "{id}: {report:#}");
    }
    let faults = &report["faults"];
    assert!(faults["kill"].as_u64() >= Some(10), "{faults}");
    assert!(faults["nats_restart"].as_u64() >= Some(1), "{faults}");
    assert!(faults["postgres_restart"].as_u64() >= Some(1), "{faults}");
    Ok(())
}

#[test]
#[ignore = "needs the service binaries (scripts/chaos.sh)"]
fn the_mutant_without_effect_idempotency_is_caught() -> anyhow::Result<()> {
    let (code, report) = harness("mutant")?;
    assert_eq!(code, 1, "the mutant run must fail: {report:#}");
    assert_eq!(
        held(&report, "I2"),
        Some(false),
        "duplicates found: {report:#}"
    );
    Ok(())
}
