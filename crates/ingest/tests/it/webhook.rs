//! Signed webhooks: acceptance, deduplication and every refusal.

use sluice_core::subjects::StreamKind;
use sluice_core::{CorrelationId, Envelope, ExecutionId, State, headers};
use sluice_ingest::Accepted;
use sluice_testkit::pipeline::record_path;

use crate::common::{self, Env, NEXT_SECRET, SECRET, SOURCE, UNKNOWN_SECRET, WORKFLOW};

#[tokio::test]
async fn a_signed_webhook_is_recorded_and_handed_to_interpret() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let id = common::webhook_id();
    let response = env
        .service
        .post_signed(
            &id,
            chrono::Utc::now().timestamp(),
            &common::payload("wamid.1"),
            SECRET,
            &[("X-Correlation-Id", "corr-happy")],
        )
        .await;
    assert_eq!(response.status(), 202);
    let accepted: Accepted = response.json().await?;
    let execution = ExecutionId::derive(SOURCE, &id, WORKFLOW);
    assert_eq!(accepted.correlation_id, "corr-happy");
    assert_eq!(accepted.executions.len(), 1);
    assert_eq!(accepted.executions[0].workflow, WORKFLOW);
    assert_eq!(accepted.executions[0].execution_id, execution);

    let (row, journal) = env.ledger.client.get_execution(execution).await?;
    assert_eq!(row.state, "VALIDATED");
    assert_eq!(
        (row.source.as_str(), row.event_id.as_str()),
        (SOURCE, id.as_str())
    );
    assert_eq!(row.correlation_id, "corr-happy");
    let moves: Vec<_> = journal
        .iter()
        .map(|j| (j.from_state.clone(), j.to_state.clone(), j.stage.clone()))
        .collect();
    assert_eq!(
        moves,
        [
            (None, "RECEIVED".into(), "ingest".into()),
            (Some("RECEIVED".into()), "VALIDATED".into(), "ingest".into())
        ]
    );

    assert_eq!(env.stream_count(StreamKind::Pipeline).await?, 1);
    let message = env.interpret_message().await?;
    let h = |name| common::header(&message, name);
    assert_eq!(h(headers::MSG_ID), Some(format!("{execution}:interpret:0")));
    assert_eq!(h(headers::EXECUTION_ID), Some(execution.to_string()));
    assert_eq!(h(headers::CORRELATION_ID).as_deref(), Some("corr-happy"));
    assert_eq!(h(headers::WORKFLOW).as_deref(), Some(WORKFLOW));
    assert_eq!(h(headers::STAGE).as_deref(), Some("interpret"));
    assert_eq!(h(headers::GENERATION).as_deref(), Some("0"));
    assert!(h(headers::TRACEPARENT).is_some());
    let envelope = Envelope::decode(&message.payload)?;
    assert_eq!(envelope.execution_id, execution);
    assert_eq!(envelope.event_id, id);
    assert_eq!(envelope.data["text"], "A table for four tomorrow at nine.");
    env.finish().await
}

#[tokio::test]
async fn the_same_webhook_five_times_is_one_execution_and_one_message() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let id = common::webhook_id();
    let body = common::payload("wamid.dup");
    let mut answers = Vec::new();
    for i in 0..5 {
        // Each retry carries its own correlation header; the original wins.
        let corr = format!("corr-{i}");
        let ts = chrono::Utc::now().timestamp();
        let response = env
            .service
            .post_signed(&id, ts, &body, SECRET, &[("X-Correlation-Id", &corr)])
            .await;
        assert_eq!(response.status(), 202);
        answers.push(response.text().await?);
    }
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    let accepted: Accepted = serde_json::from_str(&answers[0])?;
    assert_eq!(accepted.correlation_id, "corr-0");
    let (_, journal) = env
        .ledger
        .client
        .get_execution(accepted.executions[0].execution_id)
        .await?;
    assert_eq!(journal.len(), 2, "RECEIVED and VALIDATED once each");
    assert_eq!(env.stream_count(StreamKind::Pipeline).await?, 1);
    env.finish().await
}

/// Records `event_id`'s execution along `path`, as another ingest replica
/// (or an earlier life of this one) and the stages after it would have.
async fn recorded(env: &Env, event_id: &str, path: &[State]) -> anyhow::Result<ExecutionId> {
    let envelope = Envelope::new(
        SOURCE,
        event_id,
        WORKFLOW,
        CorrelationId::from_upstream(Some("corr-first")),
        chrono::Utc::now(),
        serde_json::json!({}),
    );
    record_path(&env.ledger.client, &envelope, path).await?;
    Ok(envelope.execution_id)
}

#[tokio::test]
async fn a_repeat_hands_over_an_event_recorded_but_never_handed_over() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let id = common::webhook_id();
    // The first delivery was recorded, then ingest died before VALIDATED.
    let execution = recorded(&env, &id, &[State::Received]).await?;
    let c = &env.ledger.client;
    let ts = chrono::Utc::now().timestamp();
    let response = env
        .service
        .post_signed(
            &id,
            ts,
            &common::payload("wamid.again"),
            SECRET,
            &[("X-Correlation-Id", "corr-second")],
        )
        .await;
    assert_eq!(response.status(), 202);
    let accepted: Accepted = response.json().await?;
    assert_eq!(accepted.correlation_id, "corr-first", "the recorded one");
    let (row, journal) = c.get_execution(execution).await?;
    assert_eq!(row.state, "VALIDATED");
    assert_eq!(journal.len(), 2);
    let message = env.interpret_message().await?;
    assert_eq!(
        common::header(&message, headers::CORRELATION_ID).as_deref(),
        Some("corr-first")
    );
    assert_eq!(
        Envelope::decode(&message.payload)?
            .correlation_id
            .to_string(),
        "corr-first"
    );

    // An event the interpreter already has is answered, not handed over.
    let later = common::webhook_id();
    let path = [State::Received, State::Validated, State::ModelRequested];
    let taken = recorded(&env, &later, &path).await?;
    let response = env
        .service
        .post_signed(&later, ts, &common::payload("wamid.taken"), SECRET, &[])
        .await;
    assert_eq!(response.status(), 202);
    let accepted: Accepted = response.json().await?;
    assert_eq!(accepted.correlation_id, "corr-first");
    assert_eq!(accepted.executions[0].execution_id, taken);
    assert_eq!(c.get_execution(taken).await?.1.len(), 3, "nothing recorded");
    assert_eq!(env.stream_count(StreamKind::Pipeline).await?, 1);
    env.finish().await
}

#[tokio::test]
async fn the_second_secret_of_a_rotation_verifies() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let id = common::webhook_id();
    let response = env
        .service
        .post(&id, &common::payload("wamid.r"), NEXT_SECRET)
        .await;
    assert_eq!(response.status(), 202);
    assert_eq!(env.stream_count(StreamKind::Pipeline).await?, 1);
    env.finish().await
}

#[tokio::test]
async fn unauthenticated_webhooks_get_401_and_leave_no_trace() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let svc = &env.service;
    let body = common::payload("wamid.bad");
    let now = chrono::Utc::now().timestamp();
    let mut ids = Vec::new();

    // Wrong secret.
    let id = common::webhook_id();
    assert_eq!(svc.post(&id, &body, UNKNOWN_SECRET).await.status(), 401);
    ids.push(id);
    // Stale and future timestamps (tolerance 300 s).
    for ts in [now - 301, now + 301] {
        let id = common::webhook_id();
        assert_eq!(
            svc.post_signed(&id, ts, &body, SECRET, &[]).await.status(),
            401
        );
        ids.push(id);
    }
    // A body changed after signing: signature of one body, another sent.
    let id = common::webhook_id();
    let good = sluice_ingest::signature::sign(
        &sluice_ingest::signature::Secret::parse(SECRET)?,
        &id,
        now,
        body.as_bytes(),
    );
    let tampered = svc
        .http
        .post(svc.url("/v1/events/whatsapp"))
        .header("webhook-id", &id)
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", &good)
        .body(common::payload("wamid.other"))
        .send()
        .await?;
    assert_eq!(tampered.status(), 401);
    ids.push(id);
    // Each required header missing in turn.
    for missing in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let id = common::webhook_id();
        let mut request = svc
            .http
            .post(svc.url("/v1/events/whatsapp"))
            .body(body.clone());
        for (name, value) in [
            ("webhook-id", id.clone()),
            ("webhook-timestamp", now.to_string()),
            ("webhook-signature", good.clone()),
        ] {
            if name != missing {
                request = request.header(name, value);
            }
        }
        let response = request.send().await?;
        assert_eq!(response.status(), 401, "without {missing}");
        let error: serde_json::Value = response.json().await?;
        assert_eq!(error["error"], "bad_signature");
        ids.push(id);
    }
    for id in &ids {
        assert!(!env.recorded(id).await, "{id} was recorded");
    }
    assert_eq!(env.stream_count(StreamKind::Pipeline).await?, 0);
    env.finish().await
}

#[tokio::test]
async fn size_json_and_schema_refusals() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let svc = &env.service;

    let huge = serde_json::json!({"id": "x", "from": "+31600000000", "text": "a".repeat(70_000)});
    let id = common::webhook_id();
    assert_eq!(svc.post(&id, &huge.to_string(), SECRET).await.status(), 413);

    let id = common::webhook_id();
    let response = svc.post(&id, "{\"id\": \"x\",", SECRET).await;
    assert_eq!(response.status(), 400);
    let error: serde_json::Value = response.json().await?;
    assert_eq!(error["error"], "malformed_json");

    let id = common::webhook_id();
    let wrong = serde_json::json!({"id": "x", "from": "call-me-maybe", "text": "hi"});
    let response = svc.post(&id, &wrong.to_string(), SECRET).await;
    assert_eq!(response.status(), 422);
    let error: serde_json::Value = response.json().await?;
    assert_eq!(error["error"], "schema_mismatch");
    assert_eq!(error["errors"][0]["instance_path"], "/from");
    assert!(
        !error.to_string().contains("call-me-maybe"),
        "payload echoed: {error}"
    );

    let unknown = svc
        .http
        .post(svc.url("/v1/events/nobody"))
        .body("{}")
        .send()
        .await?;
    assert_eq!(unknown.status(), 404);

    assert_eq!(env.stream_count(StreamKind::Pipeline).await?, 0);
    env.finish().await
}

#[tokio::test]
async fn a_slow_loris_body_is_cut_off_with_408() -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let env = Env::with(|o| o.body_timeout_ms = 500).await?;
    let mut conn = tokio::net::TcpStream::connect(env.service.addr).await?;
    // Headers promising 100 bytes, then only a few, then silence.
    let head = "POST /v1/events/whatsapp HTTP/1.1\r\nhost: ingest\r\n\
                content-type: application/json\r\ncontent-length: 100\r\n\r\n{\"id\":";
    conn.write_all(head.as_bytes()).await?;
    let started = std::time::Instant::now();
    let mut answer = vec![0; 1024];
    let n =
        tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut answer)).await??;
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body_timeout"), "{answer}");
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    assert_eq!(env.stream_count(StreamKind::Pipeline).await?, 0);
    env.finish().await
}
