//! `sluice trigger`: the real binary starting a reservation by hand through
//! ingest's trigger endpoint, to one booking; the same command again is the
//! same execution (no second booking); bad input and a missing token are
//! refused with the exit code that says so.

use std::time::Duration;

use serde_json::Value;

use crate::cli::{ok, stderr};
use crate::stack::{Env, repo, whatsapp};

const TOKEN: &str = "trigger-token-0123456789";
const SERVICE: &str = "service-token-0123456789";

#[tokio::test]
async fn a_manual_trigger_books_once_however_often_it_is_run() -> anyhow::Result<()> {
    // A ledger with tokens: the stack's services use the service token,
    // the command shows a trigger token.
    let tokens = format!("{SERVICE}=service:stack,{TOKEN}=trigger:front-desk").parse()?;
    let env = Env::start_with(
        sluice_testkit::TestNats::new().await?,
        Duration::from_secs(60),
        repo("workflows"),
        |options| options.ledger_tokens = tokens,
    )
    .await?;
    let dir = std::env::temp_dir().join(sluice_testkit::unique_token());
    std::fs::create_dir_all(&dir)?;
    let input = dir.join("request.json");
    let message = whatsapp(
        "manual.1",
        "34600000077",
        "A table for 3 tomorrow at 20:00 please",
    );
    std::fs::write(&input, serde_json::to_vec_pretty(&message)?)?;
    let ingest = format!("http://{}", env.stack.ingest);
    let args = [
        "trigger",
        "reservation",
        "--input",
        input.to_str().unwrap_or_default(),
        "--ingest-url",
        &ingest,
        "--json",
    ];
    let first: Value = serde_json::from_str(&ok(&env.sluice_as(Some(TOKEN), &args).await))?;
    let id = first["accepted"]["executions"][0]["execution_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!id.is_empty(), "{first}");
    env.settles_in(&id, "COMPLETED").await?;

    // The same command again: the key comes from the input, so it is the
    // same execution and no second booking.
    let second: Value = serde_json::from_str(&ok(&env.sluice_as(Some(TOKEN), &args).await))?;
    assert_eq!(second["key"], first["key"], "{second}");
    assert_eq!(
        second["accepted"]["executions"][0]["execution_id"],
        id.as_str()
    );
    let view = env.execution(&id).await?;
    assert_eq!(view["journal"][0]["detail"]["via"], "manual", "{view}");
    assert_eq!(view["journal"][0]["detail"]["by"], "front-desk", "{view}");
    assert_eq!(env.bookings().await?["total"], 1);

    // Input that the source's schema refuses: a usage error naming it.
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"id": "manual.2"}"#)?;
    let mut refused = args;
    refused[3] = bad.to_str().unwrap_or_default();
    let out = env.sluice_as(Some(TOKEN), &refused).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("schema"), "{}", stderr(&out));

    // No token: refused before anything is sent.
    let out = env.sluice(&args).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("SLUICE_LEDGER_TOKEN"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.bookings().await?["total"], 1);
    std::fs::remove_dir_all(&dir)?;
    env.stop().await
}
