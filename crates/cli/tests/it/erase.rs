//! `sluice executions erase`: the real binary over a whole stack. A guest's
//! reservation is dead-lettered (the booking service is down); erasing it
//! leaves neither their name nor their phone anywhere the ledger answers,
//! keeps every journal state, deletes the dead letter from the streams and
//! audits the act under the caller's name. A second erasure changes nothing.

use std::time::Duration;

use serde_json::{Value, json};
use sluice_testkit::eventually::{check, eventually};

use crate::cli::ok;
use crate::stack::Env;

const NAME: &str = "Ana Erasmus";
const PHONE: &str = "34600000077";

async fn json_of(env: &Env, args: &[&str]) -> Value {
    serde_json::from_str(&ok(&env.sluice(args).await)).expect("json")
}

/// Whether `stream` still holds message `sequence`.
async fn stored(env: &Env, stream: &str, sequence: u64) -> anyhow::Result<bool> {
    let stream = env.nats.jetstream.get_stream(stream).await?;
    Ok(stream.get_raw_message(sequence).await.is_ok())
}

fn states(shown: &Value) -> Vec<String> {
    shown["journal"]
        .as_array()
        .map(|j| j.iter().map(|e| e["to"].to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn erase_removes_the_guest_and_keeps_the_skeleton() -> anyhow::Result<()> {
    let env = Env::start(Duration::from_secs(60)).await?;
    env.faults(json!({ "bookings": { "fail_next": 1000, "fail_status": 503 } }))
        .await?;
    let msg = json!({
        "id": "wamid.erase", "from": PHONE, "name": NAME,
        "text": "Table for 2 tomorrow at 20:00, Ana Erasmus",
    });
    let id = env.accepted("wamid.erase", &msg).await?;
    let entry = eventually("the dead letter", Duration::from_secs(60), || async {
        let list = json_of(
            &env,
            &["dlq", "list", "--json", "--workflow", "reservation"],
        )
        .await;
        let found = list["dead_letters"].as_array().and_then(|all| {
            all.iter()
                .find(|e| e["execution_id"] == id.as_str())
                .cloned()
        });
        check(found.is_some(), || format!("entries: {list}"))?;
        Ok(found.unwrap_or_default())
    })
    .await?;
    env.settles_in(&id, "DEAD_LETTERED").await?;
    env.faults(json!({ "bookings": { "fail_next": 0 } }))
        .await?;
    let entry_id = entry["id"].to_string();
    let before = json_of(&env, &["executions", "show", &id, "--json"]).await;
    let dead = ok(&env.sluice(&["dlq", "show", &entry_id, "--json"]).await);
    assert!(dead.contains(PHONE) && dead.contains(NAME), "{dead}");

    // A reason is required; a dry run names what would go and changes nothing.
    let empty = env
        .sluice(&["executions", "erase", &id, "--reason", " "])
        .await;
    assert_eq!(empty.status.code(), Some(2), "{empty:?}");
    let args = ["executions", "erase", &id, "--reason", "GDPR request 12"];
    let mut dry_args = args.to_vec();
    dry_args.extend(["--dry-run", "--json"]);
    let dry = json_of(&env, &dry_args).await;
    assert_eq!(
        (dry["dry_run"].as_bool(), dry["applied"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(dry["dead_letters"], 1, "{dry}");
    let messages = dry["messages"].as_array().cloned().unwrap_or_default();
    assert_eq!(messages.len(), 2, "{dry}");
    for m in &messages {
        let (stream, seq) = (
            m["stream"].as_str().unwrap_or(""),
            m["sequence"].as_u64().unwrap_or(0),
        );
        assert!(stored(&env, stream, seq).await?, "{m}");
    }
    assert_eq!(
        ok(&env.sluice(&["dlq", "show", &entry_id, "--json"]).await),
        dead
    );

    // Erase.
    let mut erase_args = args.to_vec();
    erase_args.push("--json");
    let erased = json_of(&env, &erase_args).await;
    assert_eq!(erased["applied"], true, "{erased}");
    for m in erased["messages"].as_array().cloned().unwrap_or_default() {
        assert_eq!(m["result"], "deleted", "{erased}");
        let (stream, seq) = (
            m["stream"].as_str().unwrap_or(""),
            m["sequence"].as_u64().unwrap_or(0),
        );
        assert!(!stored(&env, stream, seq).await?, "{m} is still stored");
    }

    // Nothing the ledger answers names the guest; the skeleton is intact.
    let shown = ok(&env.sluice(&["executions", "show", &id, "--json"]).await);
    let dead = ok(&env.sluice(&["dlq", "show", &entry_id, "--json"]).await);
    let table = ok(&env.sluice(&["executions", "show", &id]).await);
    for text in [&shown, &dead, &table] {
        assert!(!text.contains(PHONE) && !text.contains(NAME), "{text}");
        assert!(!text.contains("Erasmus"), "{text}");
    }
    let shown: Value = serde_json::from_str(&shown)?;
    assert_eq!(states(&shown), states(&before));
    assert_eq!(shown["execution"]["state"], "DEAD_LETTERED");
    assert!(shown["execution"]["erased_at"].is_string(), "{shown}");
    let audit = shown["audit"].as_array().cloned().unwrap_or_default();
    assert_eq!(audit.len(), 1, "{shown}");
    assert_eq!(
        (audit[0]["action"].as_str(), audit[0]["actor"].as_str()),
        (Some("execution.erase"), Some("dev"))
    );
    assert_eq!(audit[0]["reason"], "GDPR request 12");

    // Again: nothing applied, and it says so; nothing left to replay.
    let again = ok(&env.sluice(&args).await);
    assert!(
        again.contains("already erased at") && again.contains("nothing changed"),
        "{again}"
    );
    assert!(again.contains("already gone"), "{again}");
    let replay = env
        .sluice(&["dlq", "replay", &entry_id, "--reason", "retry"])
        .await;
    assert!(!replay.status.success(), "{replay:?}");
    let missing = env
        .sluice(&[
            "executions",
            "erase",
            "00000000-0000-0000-0000-000000000000",
            "--reason",
            "x",
        ])
        .await;
    assert_eq!(missing.status.code(), Some(3), "{missing:?}");
    env.stop().await
}
