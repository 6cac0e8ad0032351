//! `sluice switch …` and who may act: the real binary against a whole
//! stack (off holds everything, on releases every waiting item, the breaker
//! trips on a failure burst) and against a ledger that knows one token per
//! role (a reviewer can neither switch nor replay; no token is refused).

use std::time::Duration;

use serde_json::{Value, json};
use sluice_bus::{Bus, Switches, Topology};
use sluice_core::Stage;
use sluice_ledger::TokenTable;
use sluice_testkit::eventually::{check, eventually};
use sluice_testkit::{TestDb, TestLedger, TestNats};

use crate::cli::{ok, run, stderr};
use crate::stack::{Env, whatsapp};

async fn switch_json(env: &Env, key: &str) -> Value {
    let out = env.sluice(&["switch", "show", key, "--json"]).await;
    serde_json::from_str(&ok(&out)).expect("json")
}

async fn gate_paused(env: &Env) -> anyhow::Result<bool> {
    Ok(env
        .stack
        .bus
        .stage_paused(Stage::Gate, "reservation")
        .await?)
}

#[tokio::test]
async fn off_holds_every_item_and_on_releases_them_with_one_booking_each() -> anyhow::Result<()> {
    let env = Env::start(Duration::from_secs(60)).await?;
    let off = env
        .sluice(&["switch", "off", "reservation", "--reason", "maintenance"])
        .await;
    assert!(ok(&off).contains("reservation is off"), "{}", ok(&off));

    let mut ids = Vec::new();
    for (i, text) in [
        "A table for 2 tomorrow at 20:00",
        "Table for 3 tomorrow at 21:00",
    ]
    .iter()
    .enumerate()
    {
        let wamid = format!("wamid.switch.{i}");
        let sender = format!("3460000003{i}");
        ids.push(
            env.accepted(&wamid, &whatsapp(&wamid, &sender, text))
                .await?,
        );
    }
    eventually(
        "the gate consumer is paused",
        Duration::from_secs(20),
        || async { check(gate_paused(&env).await?, || "not paused".to_owned()) },
    )
    .await?;
    // Held: nothing decided, nothing booked, nothing dead-lettered.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for id in &ids {
        let execution = env.execution(id).await?;
        assert_eq!(execution["state"], "OUTPUT_VALIDATED", "{execution}");
    }
    assert_eq!(env.bookings().await?["total"], 0);

    // A dry run changes nothing.
    let dry = ok(&env
        .sluice(&["switch", "on", "reservation", "--reason", "x", "--dry-run"])
        .await);
    assert!(dry.contains("would turn reservation on"), "{dry}");
    assert!(gate_paused(&env).await?);

    ok(&env
        .sluice(&[
            "switch",
            "on",
            "reservation",
            "--reason",
            "maintenance over",
        ])
        .await);
    for id in &ids {
        env.settles_in(id, "COMPLETED").await?;
    }
    let counts = env.bookings().await?;
    assert_eq!(counts["total"], 2, "{counts}");
    assert_eq!(counts["duplicated_keys"], json!([]), "{counts}");
    let dead = env.sluice(&["dlq", "list", "--json"]).await;
    assert!(ok(&dead).contains(r#""dead_letters":[]"#), "{}", ok(&dead));

    // Both changes are audited under the caller (the dev stack's `dev`).
    let shown = switch_json(&env, "reservation").await;
    assert_eq!(shown["switch"]["state"], "on", "{shown}");
    let actions: Vec<&str> = shown["audit"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["action"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(actions, ["switch.off", "switch.on"], "{shown}");
    assert!(shown["audit"][0]["actor"] == "dev", "{shown}");
    env.stop().await
}

/// A stack whose reservation workflow has a breaker that trips when more
/// than half of three actions fail (`extra` adds breaker settings), with the
/// booking service refusing every booking: a permanent failure, so each
/// execution stops for review at once.
async fn failing_with_breaker(extra: &str) -> anyhow::Result<(Env, std::path::PathBuf)> {
    let breaker = format!(
        "[gate.breaker]\nwindow_s = 300\nmin_samples = 3\nmax_failure_rate = 0.5\n{extra}\n"
    );
    let workflows = crate::stack::workflows_with(|toml| {
        toml.replace("[gate.rules]", &format!("{breaker}\n[gate.rules]"))
    })?;
    let env = Env::start_in(Duration::from_secs(60), workflows.clone()).await?;
    env.faults(json!({ "bookings": { "fail_next": 1000, "fail_status": 422 } }))
        .await?;
    burst(&env).await?;
    Ok((env, workflows))
}

/// Three requests, each refused by the booking service.
async fn burst(env: &Env) -> anyhow::Result<()> {
    for i in 0..3 {
        let wamid = format!("wamid.burst.{i}");
        let msg = whatsapp(
            &wamid,
            &format!("3460000004{i}"),
            "Table for 2 tomorrow at 20:00",
        );
        let id = env.accepted(&wamid, &msg).await?;
        env.settles_in(&id, "NEEDS_REVIEW").await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_failure_burst_trips_the_breaker_and_it_is_audited() -> anyhow::Result<()> {
    // The process's recorder (each test runs in its own process): what the
    // services' /metrics would show.
    let metrics = sluice_runtime::health::metrics_handle();
    let (env, workflows) = failing_with_breaker("").await?;
    // The winner turns the switch off, then audits the trip: wait for both.
    let tripped = eventually("the breaker trips", Duration::from_secs(30), || async {
        let shown = switch_json(&env, "reservation").await;
        let audited = shown["audit"].as_array().is_some_and(|a| !a.is_empty());
        check(shown["switch"]["state"] == "off" && audited, || {
            format!("{shown}")
        })?;
        Ok(shown)
    })
    .await?;
    assert_eq!(tripped["switch"]["source"], "breaker", "{tripped}");
    let audit = &tripped["audit"][0];
    assert_eq!(audit["action"], "switch.off", "{tripped}");
    assert_eq!(audit["result"], "breaker", "{tripped}");
    assert_eq!(audit["detail"]["kind"], "failure", "{tripped}");
    assert_eq!(audit["detail"]["stats"]["effects_failed"], 3, "{tripped}");
    let page = metrics.render();
    let trips = page
        .lines()
        .find(|l| {
            l.starts_with("sluice_breaker_trips_total{") && l.contains(r#"workflow="reservation""#)
        })
        .unwrap_or_else(|| panic!("no trip counted in:\n{page}"));
    assert!(
        trips.contains(r#"rate="failure""#) && trips.ends_with(" 1"),
        "{trips}"
    );

    // While tripped, a new request waits at the gate.
    let msg = whatsapp(
        "wamid.burst.after",
        "34600000049",
        "Table for 2 tomorrow at 20:00",
    );
    let id = env.accepted("wamid.burst.after", &msg).await?;
    // It reaches the gate (however loaded the machine) and stays there.
    env.settles_in(&id, "OUTPUT_VALIDATED").await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(env.execution(&id).await?["state"], "OUTPUT_VALIDATED");
    env.stop().await?;
    std::fs::remove_dir_all(&workflows)?;
    Ok(())
}

const REVIEWER: &str = "reviewer-token-0123456789";
const SRE: &str = "sre-token-0123456789abcd";

#[tokio::test]
async fn a_reviewer_cannot_switch_or_replay_and_no_token_is_refused() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let tokens: TokenTable = format!("{REVIEWER}=reviewer:alice,{SRE}=sre:bob").parse()?;
    let ledger = TestLedger::start_with(&db, tokens, Some(SRE)).await?;
    let nats = TestNats::new().await?;
    let bus = Bus::new(nats.client.clone(), nats.subjects.clone());
    bus.provision(&Topology::new(["reservation"], ["whatsapp"]))
        .await?;
    let switches = Switches::open(&bus).await?;
    let sluice = |token: Option<&str>, args: &[&str]| {
        let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        all.extend([
            "--ledger-url".to_owned(),
            format!("http://{}", ledger.addr),
            "--nats-url".to_owned(),
            nats.url.clone(),
            "--prefix".to_owned(),
            nats.subjects.prefix().to_owned(),
        ]);
        let envs = token
            .map(|t| vec![("SLUICE_LEDGER_TOKEN".to_owned(), t.to_owned())])
            .unwrap_or_default();
        run(all, envs)
    };
    let off = ["switch", "off", "reservation", "--reason", "no"];

    let refused = sluice(Some(REVIEWER), &off).await;
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(stderr(&refused).contains("refused"), "{}", stderr(&refused));
    assert!(
        switches.get("reservation").await?.is_none(),
        "nothing written"
    );

    let replay = sluice(Some(REVIEWER), &["dlq", "replay", "1", "--reason", "no"]).await;
    assert_eq!(replay.status.code(), Some(1), "{replay:?}");
    assert!(stderr(&replay).contains("refused"), "{}", stderr(&replay));

    let anonymous = sluice(None, &off).await;
    assert_eq!(anonymous.status.code(), Some(1), "{anonymous:?}");
    assert!(
        stderr(&anonymous).contains("no valid token"),
        "{}",
        stderr(&anonymous)
    );
    assert!(switches.get("reservation").await?.is_none());

    // An SRE may; the switch and the audit row name bob, from his token.
    ok(&sluice(Some(SRE), &off).await);
    let stored = switches.get("reservation").await?.expect("switched");
    assert_eq!(stored.switch.by, "bob");
    let audit = ledger
        .client
        .list_audit("switch", "reservation", 10)
        .await?;
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].actor.as_str(), audit[0].role.as_str()),
        ("bob", "sre")
    );
    ledger.stop().await?;
    nats.cleanup().await
}

#[tokio::test]
async fn a_tripped_breaker_half_opens_for_a_canary_and_trips_again_when_it_fails()
-> anyhow::Result<()> {
    let (env, workflows) = failing_with_breaker("half_open_after_s = 2\ncanaries = 1").await?;
    eventually("the breaker trips", Duration::from_secs(30), || async {
        let shown = switch_json(&env, "reservation").await;
        check(shown["switch"]["state"] == "off", || format!("{shown}"))
    })
    .await?;
    // Held while off; let through as the canary once half-open. It fails
    // like the others, and the breaker trips again.
    let msg = whatsapp(
        "wamid.canary",
        "34600000048",
        "Table for 2 tomorrow at 20:00",
    );
    let id = env.accepted("wamid.canary", &msg).await?;
    env.settles_in(&id, "NEEDS_REVIEW").await?;
    let shown = eventually("tripped again", Duration::from_secs(30), || async {
        let shown = switch_json(&env, "reservation").await;
        let actions: Vec<String> = shown["audit"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r["action"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        check(
            shown["switch"]["state"] == "off"
                && actions.starts_with(&[
                    "switch.off".into(),
                    "switch.half_open".into(),
                    "switch.off".into(),
                ]),
            || format!("{shown}"),
        )?;
        Ok(shown)
    })
    .await?;
    assert_eq!(shown["switch"]["state"], "off", "{shown}");
    assert_eq!(
        shown["audit"][2]["detail"]["samples"], 1,
        "the canary alone: {shown}"
    );
    assert_eq!(env.bookings().await?["total"], 0);
    env.stop().await?;
    std::fs::remove_dir_all(&workflows)?;
    Ok(())
}
