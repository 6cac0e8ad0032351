//! Running the real `sluice` binary from a test.

use std::process::{Command, Output};

/// Runs `sluice args…` with `envs` set, off the runtime's thread (the stack
/// it talks to runs on that thread). The caller's own ledger settings are
/// removed so only what the test passes counts.
pub async fn run(args: Vec<String>, envs: Vec<(String, String)>) -> Output {
    // The repository root, where `workflows/` (the default folder) lives.
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(args)
            .env_remove("SLUICE_LEDGER_URL")
            .env_remove("SLUICE_LEDGER_TOKEN")
            .env("SLUICE_CONNECT_TIMEOUT_MS", "3000")
            .envs(envs)
            .current_dir(root)
            .output()
            .expect("run sluice")
    })
    .await
    .expect("join")
}

/// Runs `sluice args…` with nothing but the test's flags.
pub async fn sluice(args: &[&str]) -> Output {
    run(args.iter().map(|a| (*a).to_owned()).collect(), Vec::new()).await
}

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error as text, without the final newline.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim_end().to_owned()
}

/// Standard output of a run that must have succeeded.
pub fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", stderr(out));
    stdout(out)
}
