//! `sluice dlq …`: the real binary over a whole stack's dead-letter index —
//! an undecodable message at the execute stage is dead-lettered and listed
//! with its reason, a dry run changes nothing, and a discard is audited
//! under the caller's name.

use std::process::Output;
use std::time::Duration;

use serde_json::Value;
use sluice_core::Stage;
use sluice_testkit::eventually::{check, eventually};

use crate::cli::ok;
use crate::stack::Env;

async fn listed(env: &Env, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["dlq", "list", "--json"];
    args.extend_from_slice(extra);
    let json: Value = serde_json::from_str(&ok(&env.sluice(&args).await)).expect("json");
    json["dead_letters"].as_array().cloned().unwrap_or_default()
}

/// Publishes bytes that are no envelope to the execute stage and waits for
/// the executor's dead letter (undecodable is permanent: no retries).
async fn garbage_dead_letter(env: &Env) -> anyhow::Result<Value> {
    let subject = env.nats.subjects.stage(Stage::Execute, "reservation")?;
    env.nats
        .jetstream
        .publish(subject, "not an envelope".into())
        .await?
        .await?;
    let found = eventually(
        "the dead letter is indexed",
        Duration::from_secs(30),
        || async {
            let entries = listed(env, &["--stage", "execute"]).await;
            check(!entries.is_empty(), || "no entry yet".to_owned())?;
            Ok(entries[0].clone())
        },
    )
    .await?;
    Ok(found)
}

#[tokio::test]
async fn list_show_dry_run_and_discard() -> anyhow::Result<()> {
    let env = Env::start(Duration::from_secs(60)).await?;
    let entry = garbage_dead_letter(&env).await?;
    let id = entry["id"].to_string();
    assert_eq!(entry["status"], "OPEN", "{entry}");
    assert_eq!(entry["failure_class"], "permanent", "{entry}");
    assert!(
        !entry["reason"].as_str().unwrap_or("").is_empty(),
        "{entry}"
    );

    // Filters narrow; the table shows the reason.
    assert!(listed(&env, &["--status", "discarded"]).await.is_empty());
    assert!(listed(&env, &["--class", "temporary"]).await.is_empty());
    let table = ok(&env.sluice(&["dlq", "list"]).await);
    let reason = entry["reason"].as_str().unwrap_or_default();
    assert!(
        table.starts_with("ID  ") && table.contains(reason) && table.contains("OWNER"),
        "{table}"
    );

    // Show: the payload is not JSON, so only its size is shown.
    let shown = ok(&env.sluice(&["dlq", "show", &id]).await);
    assert!(shown.contains("15 bytes, not JSON"), "{shown}");
    assert!(!shown.contains("not an envelope"), "{shown}");

    // A dry run changes nothing.
    let dry = ok(&env
        .sluice(&["dlq", "discard", &id, "--reason", "junk", "--dry-run"])
        .await);
    assert!(dry.contains("would discard"), "{dry}");
    assert_eq!(listed(&env, &[]).await[0]["status"], "OPEN");

    // Discard: the entry is DISCARDED and the audit row names the caller.
    ok(&env
        .sluice(&["dlq", "discard", &id, "--reason", "junk"])
        .await);
    let json: Value =
        serde_json::from_str(&ok(&env.sluice(&["dlq", "show", &id, "--json"]).await))?;
    assert_eq!(json["dead_letter"]["status"], "DISCARDED", "{json}");
    let audit = json["audit"].as_array().cloned().unwrap_or_default();
    let row = audit
        .iter()
        .find(|a| a["action"] == "dlq.discard")
        .unwrap_or_else(|| panic!("no discard in {json}"));
    assert_eq!(row["actor"], "dev", "{row}");
    assert_eq!(row["reason"], "junk", "{row}");

    // An unknown id is "not found" (exit 3).
    let missing = env.sluice(&["dlq", "show", "999999"]).await;
    assert_eq!(missing.status.code(), Some(3), "{missing:?}");
    env.stop().await
}

/// How many messages the pipeline stream holds on `subject`.
async fn stored_on(env: &Env, subject: &str) -> anyhow::Result<usize> {
    use futures::TryStreamExt as _;
    let name = env
        .nats
        .subjects
        .stream(sluice_core::subjects::StreamKind::Pipeline);
    let stream = env.nats.jetstream.get_stream(name).await?;
    let counts: Vec<(String, usize)> = stream
        .info_with_subjects(subject)
        .await?
        .try_collect()
        .await?;
    Ok(counts.iter().map(|(_, n)| n).sum())
}

/// Waits until the executor has taken and settled everything published to it.
async fn executor_idle(env: &Env) -> anyhow::Result<()> {
    let name = env
        .nats
        .subjects
        .stream(sluice_core::subjects::StreamKind::Pipeline);
    let consumer_name = env.nats.subjects.consumer(Stage::Execute, "reservation")?;
    eventually("the executor is idle", Duration::from_secs(30), || async {
        let stream = env.nats.jetstream.get_stream(&name).await?;
        let mut consumer: async_nats::jetstream::consumer::PullConsumer = stream
            .get_consumer(&consumer_name)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let info = consumer.info().await?;
        check(info.num_pending == 0 && info.num_ack_pending == 0, || {
            format!(
                "{} pending, {} unacked",
                info.num_pending, info.num_ack_pending
            )
        })
    })
    .await
}

fn replayed(out: &Output) -> Vec<Value> {
    let json: Value = serde_json::from_str(&ok(out)).expect("json");
    json["replayed"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn replay_completes_once_and_a_batch_resumes_without_resending() -> anyhow::Result<()> {
    let env = Env::start(Duration::from_secs(60)).await?;
    // The booking system is down until the executor gives up.
    env.faults(serde_json::json!({ "bookings": { "fail_next": 1000, "fail_status": 503 } }))
        .await?;
    let msg = crate::stack::whatsapp("wamid.dlq", "34600000011", "Table for 2 tomorrow at 20:00");
    let id = env.accepted("wamid.dlq", &msg).await?;
    let entry = eventually(
        "the execution's dead letter",
        Duration::from_secs(60),
        || async {
            let entries = listed(&env, &["--workflow", "reservation", "--status", "open"]).await;
            let found = entries
                .iter()
                .find(|e| e["execution_id"] == id.as_str())
                .cloned();
            check(found.is_some(), || format!("entries: {entries:?}"))?;
            Ok(found.unwrap_or_default())
        },
    )
    .await?;
    env.settles_in(&id, "DEAD_LETTERED").await?;
    env.faults(serde_json::json!({ "bookings": { "fail_next": 0 } }))
        .await?;
    let entry_id = entry["id"].to_string();
    let subject = entry["subject"].as_str().unwrap_or_default().to_owned();

    // A dry run names the Msg-Id it would use and sends nothing.
    let before = stored_on(&env, &subject).await?;
    let dry = ok(&env
        .sluice(&[
            "dlq",
            "replay",
            &entry_id,
            "--reason",
            "up again",
            "--dry-run",
        ])
        .await);
    assert!(dry.contains(&format!("{id}:execute:replay:1")), "{dry}");
    assert_eq!(stored_on(&env, &subject).await?, before);
    assert_eq!(listed(&env, &[]).await[0]["status"], "OPEN");

    // Replay: the execution completes with exactly one booking.
    let args = [
        "dlq", "replay", &entry_id, "--reason", "up again", "--batch", "b1", "--json",
    ];
    let first = replayed(&env.sluice(&args).await);
    assert_eq!(first[0]["result"], "published", "{first:?}");
    assert_eq!(first[0]["execution_replayed"], true, "{first:?}");
    env.settles_in(&id, "COMPLETED").await?;
    assert_eq!(env.bookings().await?["total"], 1);
    let after = stored_on(&env, &subject).await?;
    assert_eq!(after, before + 1);

    // Resuming the same batch sends nothing.
    let again = replayed(&env.sluice(&args).await);
    assert_eq!(again[0]["result"], "skipped", "{again:?}");
    assert_eq!(stored_on(&env, &subject).await?, after);

    // A new batch sends generation 2, which books nothing more.
    let args = [
        "dlq", "replay", &entry_id, "--reason", "again", "--batch", "b2", "--json",
    ];
    let second = replayed(&env.sluice(&args).await);
    assert_eq!(
        second[0]["msg_id"],
        format!("{id}:execute:replay:2"),
        "{second:?}"
    );
    assert_eq!(stored_on(&env, &subject).await?, after + 1);
    executor_idle(&env).await?;
    assert_eq!(env.bookings().await?["total"], 1);
    let shown: Value = serde_json::from_str(&ok(&env
        .sluice(&["dlq", "show", &entry_id, "--json"])
        .await))?;
    assert_eq!(shown["dead_letter"]["status"], "REPLAYED", "{shown}");
    env.stop().await
}

/// Dead-letters `n` undecodable messages at the execute stage; returns their
/// entry ids.
async fn garbage_dead_letters(env: &Env, n: usize) -> anyhow::Result<Vec<String>> {
    let subject = env.nats.subjects.stage(Stage::Execute, "reservation")?;
    for _ in 0..n {
        env.nats
            .jetstream
            .publish(subject.clone(), "not an envelope".into())
            .await?
            .await?;
    }
    eventually(
        "every dead letter is indexed",
        Duration::from_secs(30),
        || async {
            let entries = listed(env, &["--stage", "execute", "--status", "open"]).await;
            check(entries.len() >= n, || format!("{} of {n}", entries.len()))?;
            Ok(entries.iter().map(|e| e["id"].to_string()).collect())
        },
    )
    .await
}

#[tokio::test]
async fn rps_paces_the_replay() -> anyhow::Result<()> {
    let env = Env::start(Duration::from_secs(60)).await?;
    let ids = garbage_dead_letters(&env, 5).await?;
    let mut args = vec!["dlq", "replay", "--reason", "paced", "--rps", "5", "--json"];
    args.extend(ids.iter().map(String::as_str));
    let started = std::time::Instant::now();
    let results = replayed(&env.sluice(&args).await);
    let took = started.elapsed();
    assert_eq!(results.len(), 5, "{results:?}");
    assert!(
        results.iter().all(|r| r["result"] == "published"),
        "{results:?}"
    );
    // Five publishes at 5/s are four gaps of 200 ms: at least 0.8 s (less a
    // little for timer slack), where unpaced they take a few milliseconds.
    assert!(took >= Duration::from_millis(750), "took {took:?}");
    env.stop().await
}

#[tokio::test]
async fn a_resumed_replay_after_the_dedupe_window_does_not_send_again() -> anyhow::Result<()> {
    // The broker forgets Msg-Ids after one second.
    let env = Env::start(Duration::from_secs(1)).await?;
    let ids = garbage_dead_letters(&env, 2).await?;
    let (first, second): (i64, i64) = (ids[1].parse()?, ids[0].parse()?);
    let subject = env.nats.subjects.stage(Stage::Execute, "reservation")?;

    // A run that began the first entry, published it and died before
    // recording the outcome: what the ledger and the stream then hold.
    let ledger = sluice_ledger::LedgerOptions {
        url: format!("http://{}", env.stack.ledger),
        ..Default::default()
    }
    .connect()?;
    let begin = sluice_ledger::BeginReplay {
        id: first,
        reason: "cut off".into(),
        batch_id: "cut".into(),
        max_replays: 0,
    };
    let ticket = ledger.begin_replay(&begin).await?;
    let msg_id = format!("dlq-{first}:execute:{}", ticket.generation_label());
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(sluice_core::headers::MSG_ID, msg_id.as_str());
    env.nats
        .jetstream
        .publish_with_headers(subject.clone(), headers, ticket.dead_letter.payload.into())
        .await?
        .await?;
    let before = stored_on(&env, &subject).await?;
    // Past the dedupe window: a second send would be stored again.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let args = [
        "dlq", "replay", &ids[1], &ids[0], "--reason", "resume", "--batch", "cut", "--json",
    ];
    let results = replayed(&env.sluice(&args).await);
    let by_id = |id: i64| {
        results
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} not in {results:?}"))
    };
    assert_eq!(by_id(first)["result"], "found", "{results:?}");
    assert_eq!(by_id(first)["msg_id"], msg_id.as_str());
    assert_eq!(by_id(second)["result"], "published", "{results:?}");
    // The first entry was not sent again; the second was sent once.
    assert_eq!(stored_on(&env, &subject).await?, before + 1);
    let shown: Value =
        serde_json::from_str(&ok(&env.sluice(&["dlq", "show", &ids[1], "--json"]).await))?;
    assert_eq!(shown["dead_letter"]["status"], "REPLAYED", "{shown}");
    env.stop().await
}
