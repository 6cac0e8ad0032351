use std::path::PathBuf;
use std::process::{Command, Output};

use futures::TryStreamExt as _;
use sluice_testkit::TestNats;

fn workflows() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../workflows")
}

fn sluice(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.args(args)
        .env_remove("SLUICE_NATS_URL")
        .env_remove("SLUICE_PREFIX");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run sluice")
}

fn stderr_line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim_end().to_owned()
}

#[tokio::test]
async fn provision_creates_everything_and_is_idempotent() -> anyhow::Result<()> {
    let nats = TestNats::new().await?;
    let prefix = nats.subjects.prefix().to_owned();
    let wf = workflows();
    let args = [
        "admin",
        "provision",
        "--json",
        "--workflows",
        wf.to_str().unwrap_or_default(),
    ];
    let env = [
        ("SLUICE_NATS_URL", nats.url.as_str()),
        ("SLUICE_PREFIX", prefix.as_str()),
    ];

    for _ in 0..2 {
        let out = sluice(&args, &env);
        assert!(out.status.success(), "{}", stderr_line(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        assert_eq!(report["result"], "provisioned");
        let consumers = report["consumers"].as_array().cloned().unwrap_or_default();
        assert!(
            consumers.contains(&serde_json::json!(format!("{prefix}-execute-reservation"))),
            "{report}"
        );
    }

    let streams: Vec<String> = nats.jetstream.stream_names().try_collect().await?;
    let upper = prefix.to_ascii_uppercase();
    for kind in ["INGEST", "PIPELINE", "DLQ", "ADVISORIES", "EVENTS"] {
        assert!(
            streams.contains(&format!("{upper}_{kind}")),
            "{kind} missing in {streams:?}"
        );
    }
    let mut pipeline = nats
        .jetstream
        .get_stream(format!("{upper}_PIPELINE"))
        .await?;
    let consumer_count = pipeline.info().await?.state.consumer_count;
    assert_eq!(
        consumer_count, 8,
        "one consumer per pipeline stage of each of the two workflows"
    );
    nats.cleanup().await
}

#[test]
fn unreachable_nats_is_one_clear_line_and_a_failure() {
    let wf = workflows();
    let out = sluice(
        &[
            "admin",
            "provision",
            "--workflows",
            wf.to_str().unwrap_or_default(),
        ],
        &[
            ("SLUICE_NATS_URL", "nats://127.0.0.1:1"),
            ("SLUICE_CONNECT_TIMEOUT_MS", "2000"),
        ],
    );
    assert_eq!(out.status.code(), Some(4), "cannot reach NATS");
    let line = stderr_line(&out);
    assert!(
        line.starts_with("sluice: cannot connect to NATS at nats://127.0.0.1:1"),
        "{line}"
    );
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(!line.contains("panicked"), "{line}");
}

#[test]
fn bad_configuration_is_one_clear_line_and_a_failure() {
    let wf = workflows();
    let out = sluice(
        &[
            "admin",
            "provision",
            "--dry-run",
            "--workflows",
            wf.to_str().unwrap_or_default(),
        ],
        &[("SLUICE_CONNECT_TIMEOUT_MS", "soon")],
    );
    assert_eq!(out.status.code(), Some(2), "a configuration error");
    let line = stderr_line(&out);
    assert!(line.contains("connect_timeout_ms"), "{line}");
    assert_eq!(line.lines().count(), 1, "{line}");

    let out = sluice(&["admin", "provision", "--workflows", "/nonexistent"], &[]);
    assert!(!out.status.success());
    assert!(
        stderr_line(&out).contains("/nonexistent"),
        "{}",
        stderr_line(&out)
    );
}

#[test]
fn dry_run_lists_the_plan_without_a_broker() {
    let wf = workflows();
    let out = sluice(
        &[
            "admin",
            "provision",
            "--dry-run",
            "--workflows",
            wf.to_str().unwrap_or_default(),
        ],
        &[("SLUICE_NATS_URL", "nats://127.0.0.1:1")],
    );
    assert!(out.status.success(), "{}", stderr_line(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("would provision:"), "{text}");
    assert!(text.contains("sluice-interpret-reservation"), "{text}");
    assert!(text.contains("SLUICE_PIPELINE"), "{text}");
}

/// A ledger that keeps keys for `days` days, and provisioning's answer.
async fn provision_against(days: u64) -> anyhow::Result<(Output, bool)> {
    let nats = TestNats::new().await?;
    let db = sluice_testkit::TestDb::new().await?;
    let retention = std::time::Duration::from_secs(days * 86_400);
    let ledger = sluice_testkit::TestLedger::start_configured(&db, None, |o| {
        o.key_retention = retention;
    })
    .await?;
    let (prefix, url) = (
        nats.subjects.prefix().to_owned(),
        format!("http://{}", ledger.addr),
    );
    let wf = workflows();
    let out = sluice(
        &[
            "admin",
            "provision",
            "--workflows",
            wf.to_str().unwrap_or_default(),
        ],
        &[
            ("SLUICE_NATS_URL", nats.url.as_str()),
            ("SLUICE_PREFIX", prefix.as_str()),
            ("SLUICE_LEDGER_URL", url.as_str()),
        ],
    );
    let names: Vec<String> = nats.jetstream.stream_names().try_collect().await?;
    let provisioned = names
        .iter()
        .any(|n| n.starts_with(&prefix.to_ascii_uppercase()));
    nats.cleanup().await?;
    Ok((out, provisioned))
}

// Multi-threaded: the ledger serves while the blocking command runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_checks_the_ledgers_key_retention_first() -> anyhow::Result<()> {
    // The default dead-letter stream keeps 30 days; with the 7-day horizon
    // a 10-day retention is refused before anything is created.
    let (out, provisioned) = provision_against(10).await?;
    assert_eq!(out.status.code(), Some(2), "{}", stderr_line(&out));
    let line = stderr_line(&out);
    assert!(
        line.contains("ledger key retention 10d is shorter than the dead-letter stream's max age 30d plus the replay horizon 7d (37d)"),
        "{line}"
    );
    assert!(!provisioned);

    let (out, provisioned) = provision_against(45).await?;
    assert!(out.status.success(), "{}", stderr_line(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("retention  ok (key retention 45d"), "{text}");
    assert!(provisioned);
    Ok(())
}
