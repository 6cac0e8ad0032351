//! `sluice trace` and `sluice executions …`: the real binary against a whole
//! stack, and the documented exit codes.

use std::time::Duration;

use serde_json::Value;

use crate::cli::{ok, sluice, stderr, stdout};
use crate::stack::{Env, whatsapp};

const PIPELINE: [&str; 12] = [
    "RECEIVED",
    "VALIDATED",
    "MODEL_REQUESTED",
    "MODEL_COMPLETED",
    "OUTPUT_VALIDATED",
    "GATE_DECIDED",
    "AUTO_ACTION_PENDING",
    "EXECUTING",
    "ACTION_COMPLETED",
    "VERIFIED",
    "NOTIFIED",
    "COMPLETED",
];

/// The timeline's rows: the lines after the `#  AT  TOOK …` header.
fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .skip_while(|l| !l.starts_with("#  "))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn trace_shows_every_stage_in_order_with_timings_and_the_effect() -> anyhow::Result<()> {
    let env = Env::start(Duration::from_secs(60)).await?;
    let ledger = format!("http://{}", env.stack.ledger);
    let msg = whatsapp(
        "wamid.trace",
        "34600000002",
        "A table for two tomorrow at eight, please.",
    );
    let id = env.accepted("wamid.trace", &msg).await?;
    let view = env.settles_in(&id, "COMPLETED").await?;
    let correlation = view["correlation_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let external_id = view["journal"]
        .as_array()
        .and_then(|j| j.iter().find(|e| e["to"] == "ACTION_COMPLETED"))
        .and_then(|e| e["detail"]["external_id"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(!external_id.is_empty(), "{view}");

    // Human timeline: every state in order, with an offset and a duration.
    let text = ok(&sluice(&["trace", &id, "--ledger-url", &ledger]).await);
    let rows = rows(&text);
    let states: Vec<&str> = rows.iter().map(|r| r[4].as_str()).collect();
    assert_eq!(states, PIPELINE, "{text}");
    let stages: Vec<&str> = rows.iter().map(|r| r[3].as_str()).collect();
    let expected = ["ingest", "interpret", "gate", "execute", "notify"];
    let mut order: Vec<&str> = stages.clone();
    order.dedup();
    assert_eq!(order, expected, "{text}");
    for row in &rows {
        assert!(row[1].starts_with('+') && row[1].ends_with('s'), "{row:?}");
        assert!(row[2].ends_with('s'), "{row:?}");
    }
    assert!(text.contains(&format!("execution    {id}")), "{text}");
    let line = |state: &str| {
        text.lines()
            .find(|l| l.split_whitespace().nth(4) == Some(state))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(line("MODEL_COMPLETED").contains("prompt="), "{text}");
    assert!(line("MODEL_COMPLETED").contains("latency="), "{text}");
    assert!(line("GATE_DECIDED").contains("verdict=auto"), "{text}");
    let effect = line("ACTION_COMPLETED");
    assert!(
        effect.contains(&format!("external_id={external_id}")),
        "{text}"
    );
    assert!(
        effect.contains("idempotency_key=reservation:whatsapp:wamid.trace"),
        "{text}"
    );
    assert!(effect.contains("prevented_duplicate=no"), "{text}");
    assert!(line("NOTIFIED").contains("sent=yes"), "{text}");

    // JSON: the same steps, offsets never decreasing.
    let json: Value = serde_json::from_str(&ok(&sluice(&[
        "trace",
        &id,
        "--json",
        "--ledger-url",
        &ledger,
    ])
    .await))?;
    assert_eq!(json["matched_by"], "execution_id");
    let steps = json["timelines"][0]["steps"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let to: Vec<&str> = steps.iter().filter_map(|s| s["to"].as_str()).collect();
    assert_eq!(to, PIPELINE);
    let offsets: Vec<i64> = steps
        .iter()
        .filter_map(|s| s["since_start_ms"].as_i64())
        .collect();
    assert!(offsets.windows(2).all(|w| w[0] <= w[1]), "{offsets:?}");

    // By correlation id: the same execution.
    let json: Value = serde_json::from_str(&ok(&sluice(&[
        "trace",
        &correlation,
        "--json",
        "--ledger-url",
        &ledger,
    ])
    .await))?;
    assert_eq!(json["matched_by"], "correlation_id", "{json}");
    assert_eq!(json["timelines"][0]["execution_id"], id.as_str(), "{json}");

    // Listing and showing.
    let listed: Value = serde_json::from_str(&ok(&sluice(&[
        "executions",
        "list",
        "--workflow",
        "reservation",
        "--since",
        "1h",
        "--json",
        "--ledger-url",
        &ledger,
    ])
    .await))?;
    let ids: Vec<&str> = listed["executions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["execution_id"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert!(ids.contains(&id.as_str()), "{listed}");
    let table = ok(&sluice(&[
        "executions",
        "list",
        "--state",
        "completed",
        "--ledger-url",
        &ledger,
    ])
    .await);
    assert!(table.starts_with("ID "), "{table}");
    assert!(
        table.contains(&id) && table.contains(&correlation),
        "{table}"
    );
    let shown = ok(&sluice(&["executions", "show", &id, "--ledger-url", &ledger]).await);
    assert!(
        shown.contains("COMPLETED") && shown.contains("SEQ"),
        "{shown}"
    );

    // Unknown ids: exit 3 and one line.
    let unknown = "7d1f0c52-3a8e-4f7b-9c0e-5b8a1d2e3f40";
    let out = sluice(&["executions", "show", unknown, "--ledger-url", &ledger]).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stderr(&out), format!("sluice: no execution {unknown}"));
    let out = sluice(&["trace", "no-such-correlation", "--ledger-url", &ledger]).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no-such-correlation"),
        "{}",
        stderr(&out)
    );
    env.stop().await
}

#[tokio::test]
async fn an_unreachable_ledger_is_exit_4_and_one_line() {
    for args in [
        &["executions", "list"][..],
        &["executions", "show", "7d1f0c52-3a8e-4f7b-9c0e-5b8a1d2e3f40"],
        &["trace", "some-correlation"],
    ] {
        let mut args = args.to_vec();
        args.extend(["--ledger-url", "http://127.0.0.1:1"]);
        let out = sluice(&args).await;
        let line = stderr(&out);
        assert_eq!(out.status.code(), Some(4), "{args:?}: {line}");
        assert!(
            line.starts_with("sluice: cannot reach the ledger at http://127.0.0.1:1"),
            "{line}"
        );
        assert_eq!(line.lines().count(), 1, "{line}");
    }
}

#[tokio::test]
async fn usage_errors_are_exit_2() {
    let out = sluice(&["executions", "list", "--since", "soon"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = sluice(&["executions", "show", "not-a-uuid"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = sluice(&["executions", "list", "--ledger-url", "not a url"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let help = stdout(&sluice(&["--help"]).await);
    assert!(
        help.contains("Exit codes:") && help.contains("4  cannot reach"),
        "{help}"
    );
}
