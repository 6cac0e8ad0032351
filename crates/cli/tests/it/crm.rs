//! The crm-enrichment workflow end to end over NATS input, against the real
//! broker, the ledger and a fresh example CRM database: the same enrichment
//! published three times stages one suggestion and updates the account
//! once, with the previous values kept; new text is a new effect; a doubtful
//! one waits for a person and writes nothing.

use std::time::Duration;

use serde_json::{Value, json};
use sluice_core::ExecutionId;
use sluice_interpreter::rules::crm::source_hash;
use sqlx::PgPool;

use crate::stack::Env;

pub(crate) const MINUTE: Duration = Duration::from_secs(60);
const WORKFLOW: &str = "crm-enrichment";
pub(crate) const WEBSITE: &str = "Acme Robotics is a manufacturer of industrial machinery. Our factory \
    runs three production lines. Headquartered in Munich, Germany, we have 120 employees.";
pub(crate) const NOTES: &str = "Annual revenue of about €25 million.";

pub(crate) fn event(id: &str, account: &str, website: &str, notes: &str) -> Value {
    json!({ "id": id, "account_id": account, "website_text": website, "sales_notes": notes })
}

/// Publishes `event` to `<prefix>.in.crm.<id>` and returns its execution id.
pub(crate) async fn publish(env: &Env, event: &Value) -> anyhow::Result<String> {
    let id = event["id"].as_str().unwrap_or_default();
    let subject = format!("{}.in.crm.{id}", env.nats.subjects.prefix());
    env.nats
        .jetstream
        .publish(subject, serde_json::to_vec(event)?.into())
        .await?
        .await?;
    Ok(ExecutionId::derive("crm", id, WORKFLOW).to_string())
}

/// Waits until the execution is in `state`; shows where it is if not.
pub(crate) async fn settles(env: &Env, id: &str, state: &str) -> anyhow::Result<Value> {
    match env.settles_in(id, state).await {
        Ok(execution) => Ok(execution),
        Err(e) => {
            let now = env.execution(id).await?;
            Err(e.context(format!("{id} when the wait ran out: {now:#}")))
        }
    }
}

async fn scalar(pool: &PgPool, sql: &'static str, bind: &str) -> anyhow::Result<Value> {
    Ok(sqlx::query_scalar(sql).bind(bind).fetch_one(pool).await?)
}

pub(crate) async fn account(pool: &PgPool, id: &str) -> anyhow::Result<Value> {
    scalar(
        pool,
        "SELECT jsonb_build_object('industry', industry, 'employee_count', employee_count, \
         'hq_city', hq_city, 'hq_country', hq_country, 'annual_revenue_band', annual_revenue_band) \
         FROM accounts WHERE account_id = $1",
        id,
    )
    .await
}

pub(crate) async fn count(pool: &PgPool, sql: &'static str, bind: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql).bind(bind).fetch_one(pool).await?)
}

#[tokio::test]
async fn the_same_enrichment_three_times_stages_once_and_updates_once() -> anyhow::Result<()> {
    let env = Env::start(MINUTE).await?;
    let pool = env.crm_db.pool().await?;
    let before = account(&pool, "acc-42").await?;
    assert_eq!(before["industry"], Value::Null, "the seed account is bare");

    // Three events (three ids: three executions), one account, one text.
    // The first runs alone: a duplicate arriving while the first holds the
    // key waits out the holder's lease before it finds the key done.
    let first = publish(&env, &event("evt-same-1", "acc-42", WEBSITE, NOTES)).await?;
    settles(&env, &first, "COMPLETED").await?;
    let mut again = Vec::new();
    for n in 2..=3 {
        let repeat = event(&format!("evt-same-{n}"), "acc-42", WEBSITE, NOTES);
        again.push(publish(&env, &repeat).await?);
    }
    for id in &again {
        let execution = settles(&env, id, "COMPLETED").await?;
        let done = execution["journal"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["to"] == "ACTION_COMPLETED")
            .cloned()
            .unwrap_or_default();
        let prevented: Vec<&Value> = done["detail"]["actions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| &a["prevented_duplicate"])
            .collect();
        assert_eq!(prevented, [&json!(true), &json!(true)], "{done}");
    }

    let hash = source_hash(WEBSITE, NOTES);
    let staged = count(
        &pool,
        "SELECT count(*) FROM enrichment_staging WHERE account_id = $1",
        "acc-42",
    );
    assert_eq!(staged.await?, 1, "one staged suggestion");
    let suggestion = scalar(
        &pool,
        "SELECT jsonb_build_object('id', suggestion_id, 'industry', industry, 'employees', employee_count, \
         'evidence', evidence) FROM enrichment_staging WHERE account_id = $1",
        "acc-42",
    )
    .await?;
    assert_eq!(suggestion["id"], format!("acc-42:v1:{hash}"));
    assert_eq!(suggestion["industry"], "manufacturing");
    assert_eq!(suggestion["employees"], 120);
    assert_eq!(
        suggestion["evidence"]["employee_count"],
        "Headquartered in Munich, Germany, we have 120 employees."
    );

    // One key row per action in the CRM's own database, keyed as declared.
    for key in [
        format!("crm-stage:acc-42:v1:{hash}"),
        format!("crm:acc-42:v1:{hash}"),
    ] {
        let n = count(
            &pool,
            "SELECT count(*) FROM sluice_effects WHERE key = $1",
            &key,
        );
        assert_eq!(n.await?, 1, "{key}");
    }
    let all = count(
        &pool,
        "SELECT count(*) FROM sluice_effects WHERE key LIKE $1",
        "%acc-42%",
    );
    assert_eq!(all.await?, 2, "nothing else was written");

    // The account was updated once, and what it held before is kept.
    let after = account(&pool, "acc-42").await?;
    assert_eq!(
        after,
        json!({"industry": "manufacturing", "employee_count": 120, "hq_city": "Munich",
               "hq_country": "DE", "annual_revenue_band": "10m_100m"})
    );
    let update_key = format!("crm:acc-42:v1:{hash}");
    let previous = scalar(
        &pool,
        "SELECT previous FROM sluice_effects WHERE key = $1",
        &update_key,
    );
    assert_eq!(previous.await?, before, "the previous values, for a revert");

    // A contradicting text waits for a person; a clear new text is a new
    // effect under a new key.
    let notes = "Annual revenue of about €25 million. Since the merger: 150 employees.";
    let doubtful = publish(&env, &event("evt-later", "acc-42", WEBSITE, notes)).await?;
    settles(&env, &doubtful, "HUMAN_REVIEW_PENDING").await?;
    let clear = "Acme Robotics is a manufacturer of industrial machinery. Our factory \
        runs three production lines. Headquartered in Munich, Germany, we have 150 employees.";
    let later = publish(&env, &event("evt-later-2", "acc-42", clear, NOTES)).await?;
    settles(&env, &later, "COMPLETED").await?;
    let new_hash = source_hash(clear, NOTES);
    assert_ne!(new_hash, hash);
    let staged = count(
        &pool,
        "SELECT count(*) FROM enrichment_staging WHERE account_id = $1",
        "acc-42",
    );
    assert_eq!(staged.await?, 2, "a second suggestion, for the new text");
    let new_key = format!("crm:acc-42:v1:{new_hash}");
    let previous = scalar(
        &pool,
        "SELECT previous FROM sluice_effects WHERE key = $1",
        &new_key,
    );
    assert_eq!(
        previous.await?,
        after,
        "the second update replaced the first one's values"
    );
    assert_eq!(account(&pool, "acc-42").await?["employee_count"], 150);
    env.stop().await
}

#[tokio::test]
async fn a_doubtful_enrichment_waits_for_a_person_and_writes_nothing() -> anyhow::Result<()> {
    let env = Env::start(MINUTE).await?;
    let pool = env.crm_db.pool().await?;
    let before = account(&pool, "acc-44").await?;
    // The website and the newer notes disagree on the headcount.
    let conflicting = event(
        "evt-doubt",
        "acc-44",
        "We are a team of 45 engineers.",
        "Now about 60 people.",
    );
    let id = publish(&env, &conflicting).await?;
    settles(&env, &id, "HUMAN_REVIEW_PENDING").await?;
    // Nothing to read at all: an exception.
    let empty = publish(&env, &event("evt-empty", "acc-44", "", "")).await?;
    settles(&env, &empty, "NEEDS_REVIEW").await?;
    let staged = count(
        &pool,
        "SELECT count(*) FROM enrichment_staging WHERE account_id = $1",
        "acc-44",
    );
    assert_eq!(staged.await?, 0);
    assert_eq!(account(&pool, "acc-44").await?, before);
    let out = env
        .sluice(&["review", "list", "--workflow", WORKFLOW, "--json"])
        .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&id),
        "the conflicting enrichment is in review: {text}"
    );
    env.stop().await
}
