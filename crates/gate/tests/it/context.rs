//! Context before a decision: the reservation workflow asks the booking
//! system's availability API (a real HTTP stand-in) before it lets a
//! booking through. A full slot is a clarification offering the nearest
//! free times; a provider that does not answer falls back to an answer no
//! older than its bound, and past that (or with none) a person decides.
//! Whatever was used is recorded with the decision.

use std::time::Duration;

use serde_json::{Value, json};
use sluice_core::pipeline::Verdict;
use sluice_core::{Stage, State};

use crate::common::{Env, contract, decision, edited_workflows, envelope};

fn at(time: &str, party: u32) -> sluice_core::Envelope {
    let mut c = contract();
    c["time"] = json!(time);
    c["party_size"] = json!(party);
    envelope("A table, please", c, 0.95, "create_booking")
}

#[tokio::test]
async fn a_full_slot_asks_again_offering_the_nearest_free_times() {
    let env = Env::start().await;
    env.availability.answer(
        json!({ "available": false, "alternatives": ["20:30", "21:30", "20:00"] }),
        Duration::ZERO,
    );
    let e = at("21:00", 4);
    env.submit(&e).await;
    let journal = env.wait_for(&e, State::ClarificationRequested).await;
    let d = decision(&journal);
    assert_eq!(d.verdict, Verdict::Clarify);
    assert_eq!(d.missing, ["time"]);
    assert_eq!(d.offers, ["20:30", "21:30", "20:00"]);
    let rule = d
        .rules
        .iter()
        .find(|r| r.rule == "context")
        .expect("context rule");
    assert!(
        !rule.passed && rule.detail.contains("offering 20:30"),
        "{rule:?}"
    );
    // What was asked, from where and how fresh, is on the record.
    let used = &d.context[0];
    assert_eq!(used.name, "availability");
    assert_eq!(used.from, format!("{}/availability", env.availability.url));
    assert!(
        !used.stale && !used.cached && used.fetched_at.is_some(),
        "{used:?}"
    );
    assert_eq!(
        used.value.as_ref().map(|v| v["available"].clone()),
        Some(Value::Bool(false))
    );
    // Nothing goes to the executor; the question goes to the notifier with
    // the offers on the envelope.
    assert!(env.stage_messages(Stage::Execute).await.is_empty());
    let notify = env.stage_messages(Stage::Notify).await;
    assert_eq!(notify.len(), 1);
    let offered = notify[0].decision.as_ref().map(|d| d.offers.clone());
    assert_eq!(offered.unwrap_or_default(), ["20:30", "21:30", "20:00"]);
    env.stop().await;
}

#[tokio::test]
async fn an_unanswered_lookup_uses_a_recent_answer_then_stops_for_a_person() {
    // Asked every time (fresh_for_s = 0), a 300 ms limit, no retry, and an
    // old answer is good for three seconds.
    let workflows = edited_workflows(|text| {
        text.replace(
            "timeout_ms = 1500\nretries = 1",
            "timeout_ms = 300\nretries = 0",
        )
        .replace("fresh_for_s = 5", "fresh_for_s = 0")
        .replace("max_stale_s = 600", "max_stale_s = 3")
    });
    let env = Env::start_with(workflows).await;

    // Answered: booked automatically.
    let first = at("20:00", 2);
    env.submit(&first).await;
    env.wait_for(&first, State::AutoActionPending).await;

    // The provider now hangs. The same slot within the bound: the recent
    // answer is used, marked stale, and the booking goes ahead.
    env.availability.answer(
        json!({ "available": true, "alternatives": [] }),
        Duration::from_secs(5),
    );
    let second = at("20:00", 2);
    env.submit(&second).await;
    let journal = env.wait_for(&second, State::AutoActionPending).await;
    let used = decision(&journal).context.remove(0);
    assert!(used.stale, "{used:?}");
    assert!(
        used.error.as_deref().unwrap_or_default().contains("300 ms"),
        "{used:?}"
    );

    // Another slot has no earlier answer: review, with the reason.
    let other = at("21:30", 2);
    env.submit(&other).await;
    let journal = env.wait_for(&other, State::HumanReviewPending).await;
    let d = decision(&journal);
    let rule = d
        .rules
        .iter()
        .find(|r| r.rule == "context")
        .expect("context rule");
    assert!(
        !rule.passed && rule.detail.contains("availability could not be checked"),
        "{rule:?}"
    );

    // Past the bound the old answer is no good either.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let late = at("20:00", 2);
    env.submit(&late).await;
    env.wait_for(&late, State::HumanReviewPending).await;

    // Only the first and second went to the executor.
    let executed: Vec<_> = env
        .stage_messages(Stage::Execute)
        .await
        .into_iter()
        .map(|e| e.execution_id)
        .collect();
    assert_eq!(executed.len(), 2, "{executed:?}");
    assert!(executed.contains(&first.execution_id) && executed.contains(&second.execution_id));
    assert!(env.availability.calls() >= 4);
    env.stop().await;
}

#[tokio::test]
async fn a_fresh_answer_is_reused_without_asking_again() {
    let env = Env::start().await;
    let first = at("19:00", 3);
    env.submit(&first).await;
    env.wait_for(&first, State::AutoActionPending).await;
    let asked = env.availability.calls();
    let second = at("19:00", 3);
    env.submit(&second).await;
    let journal = env.wait_for(&second, State::AutoActionPending).await;
    let used = decision(&journal).context.remove(0);
    assert!(used.cached && !used.stale, "{used:?}");
    assert_eq!(env.availability.calls(), asked, "no second request");
    env.stop().await;
}

/// A postgres provider reads one row of a target database as JSON, read
/// only: a query that would change anything (here, advance a sequence) is
/// refused by the database, so the provider is unavailable, never a writer.
#[tokio::test]
async fn a_postgres_provider_reads_one_row_and_cannot_write() -> anyhow::Result<()> {
    use sluice_core::workflow::{ContextKind, ContextSpec, ContextStage};
    use sluice_gate::context::Contexts;

    let db = sluice_testkit::TestDb::new().await?;
    let pool = db.pool().await?;
    sqlx::query(
        "CREATE TABLE accounts (account_id text PRIMARY KEY, industry text, employees int)",
    )
    .execute(&pool)
    .await?;
    sqlx::query("INSERT INTO accounts VALUES ('acc-1', 'software', 120)")
        .execute(&pool)
        .await?;
    sqlx::query("CREATE SEQUENCE counter")
        .execute(&pool)
        .await?;
    let spec = |name: &str, query: &str| ContextSpec {
        name: name.into(),
        kind: ContextKind::Postgres,
        stage: ContextStage::Gate,
        url: None,
        query: Some(query.into()),
        params: vec!["{account_id}".into()],
        timeout_ms: 2_000,
        retries: 0,
        fresh_for_s: 0,
        max_stale_s: 0,
    };
    let specs = vec![
        spec(
            "account",
            "SELECT industry, employees FROM accounts WHERE account_id = $1",
        ),
        spec(
            "sneaky",
            "SELECT nextval('counter') AS n WHERE $1 IS NOT NULL",
        ),
    ];
    let databases = ["account", "sneaky"]
        .map(|n| (n.to_owned(), db.url.clone()))
        .into();
    let contexts = Contexts::new(
        ContextStage::Gate,
        [("crm", specs.as_slice())],
        &Default::default(),
        &databases,
    )?;
    let gathered = contexts
        .gather("crm", &json!({ "account_id": "acc-1" }))
        .await;
    let answer = |uses: &[sluice_core::pipeline::ContextUse], name: &str| {
        let used = uses.iter().find(|u| u.name == name).expect("asked");
        used.answer().cloned().map_err(str::to_owned)
    };
    assert_eq!(
        answer(&gathered, "account").ok(),
        Some(json!({ "industry": "software", "employees": 120 }))
    );
    assert_eq!(gathered[0].from, "postgres:account");
    let refused = answer(&gathered, "sneaky").err().unwrap_or_default();
    assert!(refused.contains("read-only"), "{refused}");
    let advanced: bool = sqlx::query_scalar("SELECT is_called FROM counter")
        .fetch_one(&pool)
        .await?;
    assert!(!advanced, "the sequence was not advanced");

    // A row that does not exist is an empty answer, not a failure.
    let none = contexts
        .gather("crm", &json!({ "account_id": "acc-404" }))
        .await;
    assert_eq!(answer(&none, "account").ok(), Some(json!({})));
    // A postgres provider without a database cannot be set up.
    let err = Contexts::new(
        ContextStage::Gate,
        [("crm", specs.as_slice())],
        &Default::default(),
        &Default::default(),
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("SLUICE_CONTEXT_DATABASES__ACCOUNT"), "{err}");
    Ok(())
}
