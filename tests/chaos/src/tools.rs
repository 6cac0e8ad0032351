//! Finding the binaries, and small helpers around them.

use std::path::PathBuf;
use std::process::Command;

use crate::setup::repo_root;

/// The service binaries the run starts.
pub const BINARIES: [&str; 9] = [
    "sluice-ingest",
    "sluice-interpreter",
    "sluice-gate",
    "sluice-executor",
    "sluice-notifier",
    "sluice-deadletter",
    "sluice-ledger",
    "booking-service",
    "sluice",
];

/// The folder of the service binaries: `given`, else the folder of this
/// executable (`target/debug`, also from `target/debug/deps`). Every binary
/// must be there.
pub fn bin_dir(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let dir = match given {
        Some(dir) => dir,
        None => {
            let exe = std::env::current_exe()?;
            let mut dir = exe.parent().map(PathBuf::from).unwrap_or_default();
            if dir.ends_with("deps") {
                dir.pop();
            }
            dir
        }
    };
    let missing: Vec<&str> = BINARIES
        .iter()
        .copied()
        .filter(|b| !dir.join(b).is_file())
        .collect();
    anyhow::ensure!(
        missing.is_empty(),
        "missing in {}: {} (build them: cargo build -p sluice-ingest -p sluice-interpreter \
         -p sluice-gate -p sluice-executor -p sluice-notifier -p sluice-deadletter \
         -p sluice-ledger -p sluice-example-booking -p sluice-cli --bins, or use scripts/chaos.sh)",
        dir.display(),
        missing.join(", ")
    );
    Ok(dir)
}

/// nats-server ≥ 2.11: `given`, else the repository's `.dev/venv` (what
/// `scripts/dev-up.sh` installs), else `PATH`.
pub fn nats_server(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let candidates = given
        .into_iter()
        .chain([repo_root().join(".dev/venv/bin/nats-server")]);
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("nats-server"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for bin in candidates.chain(on_path).filter(|b| b.is_file()) {
        if recent_enough(&bin) {
            return Ok(bin);
        }
    }
    anyhow::bail!(
        "no nats-server >= 2.11 found: run scripts/dev-up.sh (it installs one into .dev/venv) \
         or pass --nats-server"
    )
}

fn recent_enough(bin: &PathBuf) -> bool {
    let Ok(output) = Command::new(bin).arg("--version").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&output.stdout);
    // "nats-server: v2.15.1"
    let version = text.trim().rsplit('v').next().unwrap_or_default();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (2, 11)
}

/// Lifts every booking-service fault.
pub async fn clear_target_faults(booking_url: &str) {
    let _ = reqwest::Client::new()
        .post(format!("{booking_url}/admin/faults"))
        .json(&serde_json::json!({}))
        .send()
        .await;
}

/// The short commit of the repository, or `unknown`.
pub fn commit() -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(repo_root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned())
}
