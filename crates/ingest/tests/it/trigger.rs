//! `POST /v1/workflows/{workflow}/trigger` against a ledger with real
//! tokens: a trigger token starts one execution per idempotency key (a
//! repeat is the same execution, journalled with who triggered it), and
//! every refusal — no token, an unknown one, a reviewer's, no key, bad
//! input, an unknown workflow, over the caller's rate — records nothing.

use serde_json::{Value, json};
use sluice_core::subjects::StreamKind;
use sluice_core::{ExecutionId, Stage};
use sluice_ingest::Accepted;

use crate::common::{Env, SOURCE, WORKFLOW};

const SERVICE: &str = "service-token-0123456789";
const TRIGGER: &str = "trigger-token-0123456789";
const REVIEWER: &str = "reviewer-token-0123456789";

async fn env(burst: u32) -> anyhow::Result<Env> {
    let tokens = format!(
        "{SERVICE}=service:ingest,{TRIGGER}=trigger:booking-desk,{REVIEWER}=reviewer:alice"
    );
    Env::secured(&tokens, SERVICE, |options| {
        options.trigger_rate.burst = burst;
        options.trigger_rate.per_second = 0.01;
    })
    .await
}

fn input(id: &str) -> Value {
    json!({
        "id": id,
        "from": "+31600000000",
        "name": "Ada",
        "text": "A table for two on Friday at eight."
    })
}

async fn trigger(
    env: &Env,
    workflow: &str,
    token: Option<&str>,
    key: Option<&str>,
    body: &Value,
) -> anyhow::Result<reqwest::Response> {
    let svc = &env.service;
    let mut request = svc
        .http
        .post(svc.url(&format!("/v1/workflows/{workflow}/trigger")))
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    Ok(request.send().await?)
}

async fn error_code(response: reqwest::Response) -> anyhow::Result<(u16, String)> {
    let status = response.status().as_u16();
    let body: Value = response.json().await?;
    Ok((
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
    ))
}

#[tokio::test]
async fn a_trigger_starts_one_execution_per_key_and_records_who() -> anyhow::Result<()> {
    let env = env(10).await?;
    let response = trigger(
        &env,
        WORKFLOW,
        Some(TRIGGER),
        Some("desk-42"),
        &input("t-1"),
    )
    .await?;
    assert_eq!(response.status(), 202);
    let first: Accepted = response.json().await?;
    assert_eq!(first.executions.len(), 1);
    let id = first.executions[0].execution_id;
    // Deterministic: the source, the workflow and the key name it.
    assert_eq!(id, ExecutionId::derive(SOURCE, "manual:desk-42", WORKFLOW));

    // The same key again (a retry) is the same execution; nothing new is
    // recorded or published.
    let again = trigger(
        &env,
        WORKFLOW,
        Some(TRIGGER),
        Some("desk-42"),
        &input("t-1"),
    )
    .await?;
    assert_eq!(again.status(), 202);
    let again: Accepted = again.json().await?;
    assert_eq!(again.executions[0].execution_id, id);
    assert_eq!(again.correlation_id, first.correlation_id);
    assert_eq!(env.stream_count(StreamKind::Pipeline).await?, 1);

    // Handed to the interpret stage, journalled as a manual trigger by the
    // token's name.
    let message = env.interpret_message().await?;
    assert_eq!(
        message.subject.as_str(),
        env.nats.subjects.stage(Stage::Interpret, WORKFLOW)?
    );
    let (execution, journal) = env.ledger.client.get_execution(id).await?;
    assert_eq!(execution.event_id, "manual:desk-42");
    let detail = journal[0].detail.clone().unwrap_or_default();
    assert_eq!(detail["via"], "manual", "{detail}");
    assert_eq!(detail["by"], "booking-desk", "{detail}");

    // Another key is another execution.
    let other = trigger(
        &env,
        WORKFLOW,
        Some(TRIGGER),
        Some("desk-43"),
        &input("t-1"),
    )
    .await?;
    let other: Accepted = other.json().await?;
    assert_ne!(other.executions[0].execution_id, id);
    assert_eq!(env.stream_count(StreamKind::Pipeline).await?, 2);
    env.finish().await
}

#[tokio::test]
async fn refused_triggers_record_nothing() -> anyhow::Result<()> {
    let env = env(10).await?;
    let body = input("t-2");
    let none = trigger(&env, WORKFLOW, None, Some("k1"), &body).await?;
    assert_eq!(none.status(), 401);
    assert!(
        none.headers()
            .get("www-authenticate")
            .is_some_and(|v| v.as_bytes().starts_with(b"Bearer")),
        "{:?}",
        none.headers()
    );
    let cases = [
        (
            Some("not-a-known-token-000"),
            Some("k1"),
            WORKFLOW,
            body.clone(),
            401,
            "unauthenticated",
        ),
        (
            Some(REVIEWER),
            Some("k1"),
            WORKFLOW,
            body.clone(),
            403,
            "forbidden",
        ),
        (
            Some(TRIGGER),
            None,
            WORKFLOW,
            body.clone(),
            400,
            "bad_idempotency_key",
        ),
        (
            Some(TRIGGER),
            Some("has space"),
            WORKFLOW,
            body.clone(),
            400,
            "bad_idempotency_key",
        ),
        (
            Some(TRIGGER),
            Some("k1"),
            "no-such-workflow",
            body.clone(),
            404,
            "unknown_workflow",
        ),
        (
            Some(TRIGGER),
            Some("k1"),
            WORKFLOW,
            json!({ "id": "t-2" }),
            422,
            "schema_mismatch",
        ),
    ];
    for (token, key, workflow, body, status, code) in cases {
        let answer = error_code(trigger(&env, workflow, token, key, &body).await?).await?;
        assert_eq!(
            answer,
            (status, code.to_owned()),
            "{token:?} {key:?} {workflow}"
        );
    }
    // Not JSON at all.
    let svc = &env.service;
    let garbage = svc
        .http
        .post(svc.url(&format!("/v1/workflows/{WORKFLOW}/trigger")))
        .bearer_auth(TRIGGER)
        .header("idempotency-key", "k1")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await?;
    assert_eq!(
        error_code(garbage).await?,
        (400, "malformed_json".to_owned())
    );
    assert_eq!(env.stream_count(StreamKind::Pipeline).await?, 0);
    assert!(
        env.ledger
            .client
            .get_execution(ExecutionId::derive(SOURCE, "manual:k1", WORKFLOW))
            .await
            .is_err(),
        "a refused trigger recorded an execution"
    );
    env.finish().await
}

#[tokio::test]
async fn each_caller_is_held_to_its_rate_and_token_guessing_is_slowed() -> anyhow::Result<()> {
    let env = env(2).await?;
    for key in ["r1", "r2"] {
        let ok = trigger(&env, WORKFLOW, Some(TRIGGER), Some(key), &input(key)).await?;
        assert_eq!(ok.status(), 202, "{key}");
    }
    let over = trigger(&env, WORKFLOW, Some(TRIGGER), Some("r3"), &input("r3")).await?;
    assert_eq!(over.status(), 429);
    let wait: u64 = over
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_default();
    assert!(wait >= 1, "Retry-After {wait}");
    assert_eq!(error_code(over).await?.1, "rate_limited");
    assert_eq!(env.stream_count(StreamKind::Pipeline).await?, 2);

    // Ten bad tokens from one address, then that address is refused before
    // the ledger is asked, even with a good token.
    for i in 0..10 {
        let token = format!("guess-{i:02}-0000000000000");
        let refused = trigger(&env, WORKFLOW, Some(&token), Some("g"), &input("g")).await?;
        assert_eq!(refused.status(), 401, "guess {i}");
    }
    let locked = trigger(&env, WORKFLOW, Some(TRIGGER), Some("g"), &input("g")).await?;
    assert_eq!(
        error_code(locked).await?,
        (429, "too_many_failures".to_owned())
    );
    env.finish().await
}
