//! `sluice executions revert` on the crm-enrichment saga, through the real
//! binary over a whole stack: the account gets exactly its previous values
//! back and the staged suggestion goes, once, however often it is asked;
//! who asked and why is journalled and audited; only a completed execution
//! can be reverted.

use serde_json::Value;

use crate::cli::ok;
use crate::crm::{MINUTE, NOTES, WEBSITE, account, count, event, publish, settles};
use crate::stack::Env;

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_str(&ok(out)).expect("json")
}

#[tokio::test]
async fn a_revert_restores_the_account_once_even_if_asked_twice() -> anyhow::Result<()> {
    let env = Env::start(MINUTE).await?;
    let pool = env.crm_db.pool().await?;
    let seed = account(&pool, "acc-42").await?;
    let id = publish(&env, &event("evt-revert", "acc-42", WEBSITE, NOTES)).await?;
    settles(&env, &id, "COMPLETED").await?;
    let enriched = account(&pool, "acc-42").await?;
    assert_eq!(enriched["industry"], "manufacturing");
    let staged = "SELECT count(*) FROM enrichment_staging WHERE account_id = $1";
    assert_eq!(count(&pool, staged, "acc-42").await?, 1);

    // A reason is required; then the revert runs and is waited for.
    let empty = env
        .sluice(&["executions", "revert", &id, "--reason", " "])
        .await;
    assert_eq!(empty.status.code(), Some(2), "{empty:?}");
    let args = [
        "executions",
        "revert",
        &id,
        "--reason",
        "merged into the wrong account",
        "--json",
    ];
    let first = json_of(&env.sluice(&args).await);
    assert_eq!(first["started"], true, "{first}");
    assert_eq!(first["state"], "COMPENSATED", "{first}");
    let undo: Vec<&str> = first["undo"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u["action"].as_str())
        .collect();
    assert_eq!(undo, ["update_account", "stage_enrichment"], "latest first");
    assert_eq!(
        account(&pool, "acc-42").await?,
        seed,
        "exactly the previous values"
    );
    assert_eq!(
        count(&pool, staged, "acc-42").await?,
        0,
        "the staged row is gone"
    );

    // Asked again: the first request stands, nothing is undone twice.
    let again = json_of(&env.sluice(&args).await);
    assert_eq!(again["started"], false, "{again}");
    assert_eq!(again["state"], "COMPENSATED");
    assert_eq!(again["reason"], "merged into the wrong account");
    let compensations = "SELECT count(*) FROM sluice_effects WHERE key LIKE $1";
    assert_eq!(
        count(&pool, compensations, "%:compensate").await?,
        2,
        "one per action"
    );
    assert_eq!(account(&pool, "acc-42").await?, seed);

    // The journal says who and why; the audit trail has one revert.
    let shown = json_of(&env.sluice(&["executions", "show", &id, "--json"]).await);
    let journal = shown["journal"].as_array().cloned().unwrap_or_default();
    let tail: Vec<&str> = journal.iter().filter_map(|e| e["to"].as_str()).collect();
    assert!(
        tail.ends_with(&["COMPLETED", "COMPENSATING", "COMPENSATED"]),
        "{tail:?}"
    );
    let asked = journal
        .iter()
        .find(|e| e["to"] == "COMPENSATING")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        asked["detail"]["reason"], "merged into the wrong account",
        "{asked}"
    );
    let audit = shown["audit"].as_array().cloned().unwrap_or_default();
    let reverts = audit
        .iter()
        .filter(|a| a["action"] == "execution.revert")
        .count();
    assert_eq!(reverts, 1, "{audit:?}");
    Ok(())
}

#[tokio::test]
async fn only_a_completed_execution_can_be_reverted() -> anyhow::Result<()> {
    let env = Env::start(MINUTE).await?;
    // Conflicting headcounts: the suggestion waits for a person.
    let doubtful = event(
        "evt-doubt",
        "acc-44",
        "We are a team of 45 engineers.",
        "Now about 60 people.",
    );
    let id = publish(&env, &doubtful).await?;
    settles(&env, &id, "HUMAN_REVIEW_PENDING").await?;
    let out = env
        .sluice(&["executions", "revert", &id, "--reason", "not yet"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("only a COMPLETED execution"), "{said}");
    let missing = env
        .sluice(&[
            "executions",
            "revert",
            "00000000-0000-0000-0000-000000000000",
            "--reason",
            "x",
        ])
        .await;
    assert_eq!(missing.status.code(), Some(3), "{missing:?}");
    Ok(())
}
