//! Announcements on `<prefix>.events.<state>.<workflow>` and the stage runner.

use std::time::Duration;

use sluice_bus::{ExecutionEvent, Outcome, run_stage};
use sluice_core::State;
use sluice_core::subjects::StreamKind;
use sluice_testkit::eventually::{check, eventually};
use tokio_util::sync::CancellationToken;

use crate::common::{Env, Recorder, STAGE, WORKFLOW, consumer_settings, envelope, options};

#[tokio::test]
async fn an_announcement_is_published_once_per_execution_and_state() -> anyhow::Result<()> {
    let env = Env::new(consumer_settings(2_000, 3)).await?;
    let envelope = envelope(7);
    let mut event = ExecutionEvent::new(&envelope, State::Completed, "booked");
    event.external_id = Some("booking-42".into());

    let first = env.bus.announce(&event).await?;
    let again = env.bus.announce(&event).await?;
    assert!(!first.duplicate);
    assert!(
        again.duplicate,
        "a repeated announcement must be deduplicated"
    );

    let stored = env.stored(StreamKind::Events).await?;
    assert_eq!(stored.len(), 1);
    let prefix = env.nats.subjects.prefix();
    assert_eq!(
        stored[0].subject.as_str(),
        format!("{prefix}.events.completed.{WORKFLOW}")
    );
    let body: ExecutionEvent = serde_json::from_slice(&stored[0].payload)?;
    assert_eq!(body.execution_id, envelope.execution_id);
    assert_eq!(body.external_id.as_deref(), Some("booking-42"));
    env.nats.cleanup().await
}

#[tokio::test]
async fn run_stage_serves_the_stage_until_shutdown() -> anyhow::Result<()> {
    let env = Env::new(consumer_settings(2_000, 3)).await?;
    for i in 0..5 {
        env.publish(i).await?;
    }
    let recorder = Recorder::default();
    let shutdown = CancellationToken::new();
    let handler = {
        let recorder = recorder.clone();
        move |delivery| {
            let recorder = recorder.clone();
            async move {
                recorder.record(&delivery);
                Ok(Outcome::Done)
            }
        }
    };
    let bus = env.bus.clone();
    let workflows = vec![WORKFLOW.to_owned()];
    let stop = shutdown.clone();
    let running =
        tokio::spawn(
            async move { run_stage(&bus, STAGE, &workflows, options(), handler, stop).await },
        );
    eventually("all five handled", Duration::from_secs(10), || async {
        check(recorder.calls().len() == 5, || {
            format!("{} calls", recorder.calls().len())
        })
    })
    .await?;
    shutdown.cancel();
    let stopped = tokio::time::timeout(Duration::from_secs(10), running).await???;
    assert_eq!(stopped.settled, 5);
    env.drained(Duration::from_secs(5)).await?;
    env.nats.cleanup().await
}

#[tokio::test]
async fn a_parked_clarification_is_found_by_conversation_until_closed() -> anyhow::Result<()> {
    use sluice_bus::PendingRequest;

    let env = Env::new(consumer_settings(2_000, 3)).await?;
    let conversations = env.bus.conversations().await?;
    let pending = PendingRequest {
        execution_id: envelope(1).execution_id,
        contract: serde_json::json!({"date": "2026-11-24", "time": "21:00"}),
        missing: vec!["party_size".into()],
        asked_at: chrono::Utc::now(),
    };
    let who = "whatsapp:+34600000000";
    assert_eq!(conversations.open(WORKFLOW, who).await?, None);
    conversations.park(WORKFLOW, who, &pending).await?;
    assert_eq!(
        conversations.open(WORKFLOW, who).await?,
        Some(pending.clone())
    );
    assert_eq!(
        conversations
            .open(WORKFLOW, "whatsapp:+34600000001")
            .await?,
        None
    );
    conversations.close(WORKFLOW, who).await?;
    conversations.close(WORKFLOW, who).await?;
    assert_eq!(conversations.open(WORKFLOW, who).await?, None);
    env.nats.cleanup().await
}
