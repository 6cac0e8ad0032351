//! Approval: decided under the reviewer's name and resumed at the execute
//! stage with generation `review:<id>`; an item with nothing understood
//! cannot be approved.

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::json;
use sluice_core::pipeline::{GateDecision, RuleResult, Verdict};
use sluice_core::subjects::StreamKind;
use sluice_core::{CorrelationId, Envelope, Stage, State};
use sluice_ledger::{NewReviewItem, ReviewItem, ReviewKind, ReviewStatus};
use sluice_testkit::pipeline::record_path;

use crate::harness::{Console, REVIEWER, SRE, csrf, location};

const TO_REVIEW: &[State] = &[
    State::Received,
    State::Validated,
    State::ModelRequested,
    State::ModelCompleted,
    State::OutputValidated,
    State::GateDecided,
    State::HumanReviewPending,
];

fn envelope() -> Envelope {
    let event_id = sluice_testkit::unique_token();
    let data = json!({"id": event_id, "from": "+34600000000", "text": "table for 12 tonight"});
    let mut e = Envelope::new(
        "whatsapp",
        event_id,
        "reservation",
        CorrelationId::generate(),
        Utc::now(),
        data,
    );
    e.interpretation = Some(sluice_testkit::pipeline::interpretation(
        json!({"party_size": 12, "time": "21:00"}),
        0.9,
        "create_booking",
    ));
    e.decision = Some(GateDecision {
        verdict: Verdict::Review,
        action: Some("create_booking".into()),
        rules: vec![RuleResult {
            rule: "max_party_size".into(),
            passed: false,
            detail: "12 > 8".into(),
        }],
        missing: Vec::new(),
        summary: "party size above the automatic limit".into(),
        offers: Vec::new(),
        context: Vec::new(),
    });
    e
}

pub async fn resumable_item(console: &Console, envelope: &Envelope) -> anyhow::Result<ReviewItem> {
    let service = &console.ledger.client;
    record_path(service, envelope, TO_REVIEW).await?;
    let handoff = json!({
        "requested": "table for 12 tonight",
        "collected": {"party_size": {"value": 12, "confidence": 0.9}},
        "why_stopped": "party size above the automatic limit",
        "decision_needed": "approve, correct or reject create_booking",
        "envelope": envelope,
    });
    let new = NewReviewItem {
        execution_id: envelope.execution_id,
        generation: "0".into(),
        kind: ReviewKind::Review,
        handoff,
        sla_due_at: None,
    };
    Ok(service.create_review_item(&new).await?.item)
}

#[tokio::test]
async fn a_reviewer_approves_and_the_execution_resumes_once() -> anyhow::Result<()> {
    let console = Console::start().await?;
    let bus = console.provision().await?;
    let envelope = envelope();
    let item = resumable_item(&console, &envelope).await?;

    // An sre sees no approve form and is refused.
    let sre = console.sign_in(SRE).await?;
    let path = format!("/reviews/{}", item.id);
    let page = console.page(&path, &sre).await?;
    assert!(!page.contains("/approve"));
    let form = [("reason", "ok"), ("csrf", &csrf(&page)?)];
    let resp = console
        .post(&format!("{path}/approve"), Some(&sre), &form)
        .await?;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let cookie = console.sign_in(REVIEWER).await?;
    let page = console.page(&path, &cookie).await?;
    assert!(page.contains(r#"<label for="approve-reason">"#));
    let token = csrf(&page)?;
    let form = [("reason", "confirmed by phone"), ("csrf", token.as_str())];
    let resp = console
        .post(&format!("{path}/approve"), Some(&cookie), &form)
        .await?;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), Some(path.as_str()));

    let decided = console.item(item.id).await?;
    assert_eq!(decided.status, ReviewStatus::Approved);
    assert_eq!(decided.decided_by.as_deref(), Some("alice"));

    let subject = console.nats.subjects.stage(Stage::Execute, "reservation")?;
    let stream_name = console.nats.subjects.stream(StreamKind::Pipeline);
    let stream = bus.jetstream().get_stream(&stream_name).await?;
    let message = stream.get_last_raw_message_by_subject(&subject).await?;
    let msg_id = message
        .headers
        .get("Nats-Msg-Id")
        .map(|v| v.as_str().to_owned())
        .unwrap_or_default();
    assert_eq!(
        msg_id,
        format!("{}:execute:review:{}", envelope.execution_id, item.id)
    );
    let resumed: Envelope = serde_json::from_slice(&message.payload)?;
    assert_eq!(resumed.execution_id, envelope.execution_id);

    // Resuming again is offered and publishes the same message id, which
    // the broker drops.
    let page = console.page(&path, &cookie).await?;
    assert!(page.contains("Resume the execution"));
    let resp = console
        .post(&format!("{path}/approve"), Some(&cookie), &form)
        .await?;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let info = stream.get_info().await?;
    assert_eq!(info.state.messages, 1);
    console.nats.cleanup().await?;
    Ok(())
}

#[tokio::test]
async fn an_item_with_nothing_understood_cannot_be_approved() -> anyhow::Result<()> {
    let console = Console::start().await?;
    let item = console.open_item().await?;
    let cookie = console.sign_in(REVIEWER).await?;
    let path = format!("/reviews/{}", item.id);
    let page = console.page(&path, &cookie).await?;
    assert!(!page.contains("/approve"));
    let form = [("reason", "ok"), ("csrf", &csrf(&page)?)];
    let resp = console
        .post(&format!("{path}/approve"), Some(&cookie), &form)
        .await?;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    assert_eq!(console.item(item.id).await?.status, ReviewStatus::Open);
    Ok(())
}
