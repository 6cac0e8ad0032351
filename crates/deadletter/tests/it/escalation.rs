//! Escalations: a review item past its SLA is escalated on
//! `<prefix>.events.escalated.<workflow>` and POSTed, signed, to the
//! workflow's webhook exactly once, whichever replicas run the check and
//! however often; a webhook that keeps failing is retried, then recorded.
//! The receiver is a real HTTP server that verifies the signature.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State as Shared;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use sluice_core::signature::{self, Secret, SignedHeaders};
use sluice_core::subjects::StreamKind;
use sluice_core::{CorrelationId, ExecutionId, State};
use sluice_deadletter::Options;
use sluice_ledger::{EscalationState, NewReviewItem, Origin, ReviewKind, Transition};
use sluice_testkit::eventually::{check, eventually};

use crate::common::{Env, OWNER, SECRET_VAR, URL_VAR, WAIT, WORKFLOW};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One request the receiver took.
#[derive(Debug, Clone)]
struct Call {
    webhook_id: String,
    body: Value,
}

/// A webhook receiver answering `status` to correctly signed requests and
/// 401 to the rest (which the test then sees as missing calls).
#[derive(Clone)]
struct Receiver {
    calls: Arc<Mutex<Vec<Call>>>,
    status: Arc<AtomicU16>,
    secret: Secret,
}

impl Receiver {
    async fn start(status: StatusCode) -> anyhow::Result<(Self, String)> {
        let receiver = Self {
            calls: Arc::default(),
            status: Arc::new(AtomicU16::new(status.as_u16())),
            secret: Secret::parse(SECRET)?,
        };
        let app = axum::Router::new()
            .route("/hooks/escalations", axum::routing::post(receive))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hooks/escalations", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok((receiver, url))
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

async fn receive(Shared(r): Shared<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signed = SignedHeaders {
        id: header(signature::ID_HEADER),
        timestamp: header(signature::TIMESTAMP_HEADER),
        signature: header(signature::SIGNATURE_HEADER),
    };
    let now = chrono::Utc::now().timestamp();
    let Ok(id) = signature::verify(
        signed,
        body.as_bytes(),
        std::slice::from_ref(&r.secret),
        300,
        now,
    ) else {
        return StatusCode::UNAUTHORIZED;
    };
    let call = Call {
        webhook_id: id.to_owned(),
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
    };
    r.calls.lock().expect("calls").push(call);
    StatusCode::from_u16(r.status.load(Ordering::SeqCst)).unwrap_or(StatusCode::OK)
}

/// An open review item of `WORKFLOW` that was due a second ago.
async fn overdue_item(env: &Env) -> anyhow::Result<(ExecutionId, CorrelationId, i64)> {
    let id = ExecutionId::derive("test", &uuid::Uuid::new_v4().to_string(), WORKFLOW);
    let correlation = CorrelationId::generate();
    let client = &env.ledger.client;
    for (from, to) in [
        (None, State::Received),
        (Some(State::Received), State::NeedsReview),
    ] {
        client
            .record_transition(&Transition {
                execution_id: id,
                from,
                to,
                stage: "gate".into(),
                generation: "0".into(),
                detail: None,
                exception_reason: None,
                final_outcome: None,
                origin: Origin {
                    workflow: WORKFLOW.into(),
                    source: "test".into(),
                    event_id: id.to_string(),
                    correlation_id: correlation.as_str().into(),
                },
            })
            .await?;
    }
    let item = client
        .create_review_item(&NewReviewItem {
            execution_id: id,
            generation: "0".into(),
            kind: ReviewKind::NeedsReview,
            handoff: json!({"requested": "a table for Ana", "why_stopped": "unknown outcome"}),
            sla_due_at: Some(chrono::Utc::now() - chrono::Duration::seconds(1)),
        })
        .await?;
    Ok((id, correlation, item.item.id))
}

/// Options checking every 200 ms, calling the webhook `attempts` times.
fn fast(env: &Env, attempts: u32) -> Options {
    Options {
        review_sla_check_ms: 200,
        escalation_timeout_ms: 2_000,
        escalation_attempts: attempts,
        escalation_retry_base_ms: 50,
        escalation_retry_max_ms: 100,
        ..env.service_options()
    }
}

fn webhook_env(url: &str) -> Vec<(String, String)> {
    vec![
        (URL_VAR.to_owned(), url.to_owned()),
        (SECRET_VAR.to_owned(), SECRET.to_owned()),
    ]
}

/// The announcements named `name` about `WORKFLOW`.
async fn announced(env: &Env, name: &str) -> anyhow::Result<Vec<Value>> {
    let subject = env.nats.subjects.event_named(name, WORKFLOW)?;
    let stored = env.stored(StreamKind::Events).await?;
    Ok(stored
        .iter()
        .filter(|m| m.subject.as_str() == subject)
        .filter_map(|m| serde_json::from_slice(&m.payload).ok())
        .collect())
}

#[tokio::test]
async fn two_replicas_escalate_an_overdue_item_once_with_one_signed_webhook() -> anyhow::Result<()>
{
    let env = Env::new().await?;
    let (receiver, url) = Receiver::start(StatusCode::OK).await?;
    let (execution, correlation, item) = overdue_item(&env).await?;
    let a = env
        .start_configured(fast(&env, 3), webhook_env(&url))
        .await?;
    let b = env
        .start_configured(fast(&env, 3), webhook_env(&url))
        .await?;

    let calls = eventually("the webhook call", WAIT, || async {
        let calls = receiver.calls();
        check(!calls.is_empty(), || "no call yet".to_owned())?;
        Ok(calls)
    })
    .await?;
    let events = announced(&env, "escalated").await?;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event["execution_id"], execution.to_string().as_str());
    assert_eq!(event["correlation_id"], correlation.as_str());
    assert_eq!(event["workflow"], WORKFLOW);
    assert_eq!(event["state"], "NEEDS_REVIEW");
    let detail = &event["detail"];
    assert_eq!(detail["reason"], "review_sla");
    assert_eq!(detail["review_item"], item);
    assert_eq!(detail["owner"], OWNER);
    assert_eq!(detail["contact"], "#team-w");
    assert!(
        detail["overdue_s"].as_i64().is_some_and(|s| s >= 0),
        "{event}"
    );
    assert!(!event.to_string().contains("Ana"), "no handoff in {event}");
    // The webhook carried the event itself, under the item's id.
    assert_eq!(calls[0].webhook_id, format!("review-escalated:{item}"));
    assert_eq!(&calls[0].body, event);

    // Many checks later, and after a replica's restart: still one of each.
    a.stop().await?;
    let c = env
        .start_configured(fast(&env, 3), webhook_env(&url))
        .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.calls().len(), 1, "{:?}", receiver.calls());
    assert_eq!(announced(&env, "escalated").await?.len(), 1);
    assert_eq!(announced(&env, "review_overdue").await?.len(), 1);
    let status = env.ledger.client.review_item_detail(item).await?.escalation;
    let status = status.expect("an escalation");
    assert_eq!(status.state, EscalationState::Delivered);
    assert_eq!(status.attempts, 1);
    b.stop().await?;
    c.stop().await?;
    env.nats.cleanup().await
}

#[tokio::test]
async fn a_failing_webhook_is_retried_then_recorded_as_failed() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let (receiver, url) = Receiver::start(StatusCode::SERVICE_UNAVAILABLE).await?;
    let (_, _, item) = overdue_item(&env).await?;
    let running = env
        .start_configured(fast(&env, 3), webhook_env(&url))
        .await?;

    let status = eventually("the failure recorded", WAIT, || async {
        let detail = env.ledger.client.review_item_detail(item).await?;
        let status = detail
            .escalation
            .filter(|s| s.state == EscalationState::Failed);
        check(status.is_some(), || "not failed yet".to_owned())?;
        Ok(status)
    })
    .await?
    .expect("checked");
    assert_eq!(status.attempts, 3);
    let error = status.last_error.unwrap_or_default();
    assert!(error.contains("503"), "{error}");
    assert_eq!(receiver.calls().len(), 3, "one call and two retries");
    // The announcement went out regardless, and nothing is tried again.
    assert_eq!(announced(&env, "escalated").await?.len(), 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(receiver.calls().len(), 3);
    running.stop().await?;
    env.nats.cleanup().await
}

#[tokio::test]
async fn without_its_url_the_webhook_is_off_and_the_event_still_goes_out() -> anyhow::Result<()> {
    let env = Env::new().await?;
    let (_, _, item) = overdue_item(&env).await?;
    let running = env.start_configured(fast(&env, 3), Vec::new()).await?;
    let events = eventually("the escalation event", WAIT, || async {
        let events = announced(&env, "escalated").await?;
        check(!events.is_empty(), || "none yet".to_owned())?;
        Ok(events)
    })
    .await?;
    assert_eq!(events[0]["detail"]["owner"], OWNER);
    let detail = env.ledger.client.review_item_detail(item).await?;
    assert!(detail.escalation.is_none(), "no webhook to deliver");

    // A URL without its secret: the service refuses to start.
    let half = vec![(URL_VAR.to_owned(), "http://127.0.0.1:9/x".to_owned())];
    let refused = env.start_configured(fast(&env, 3), half).await.err();
    let refused = refused.map(|e| e.to_string()).unwrap_or_default();
    assert!(refused.contains(SECRET_VAR), "{refused}");
    running.stop().await?;
    env.nats.cleanup().await
}
