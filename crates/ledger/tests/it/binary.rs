//! The `sluice-ledger` binary's behaviour at the edges.

use std::process::Command;

#[test]
fn unreachable_database_exits_non_zero_with_one_line() -> anyhow::Result<()> {
    let output = Command::new(env!("CARGO_BIN_EXE_sluice-ledger"))
        .arg("serve")
        .env(
            "SLUICE_DATABASE_URL",
            "postgres://sluice:hunter2@127.0.0.1:1/sluice",
        )
        .env("SLUICE_LEDGER_LISTEN", "127.0.0.1:0")
        .output()?;
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr)?;
    let lines: Vec<_> = stderr.lines().filter(|l| !l.starts_with('{')).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with(
            "sluice-ledger: cannot connect to Postgres at postgres://sluice@127.0.0.1:1/sluice"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "password leaked: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    Ok(())
}

#[test]
fn bad_token_config_exits_non_zero() -> anyhow::Result<()> {
    let output = Command::new(env!("CARGO_BIN_EXE_sluice-ledger"))
        .env("SLUICE_DATABASE_URL", "postgres://127.0.0.1:1/sluice")
        .env("SLUICE_LEDGER_TOKENS", "short=service")
        .output()?;
    assert!(!output.status.success());
    assert!(String::from_utf8(output.stderr)?.contains("16 characters"));
    Ok(())
}
