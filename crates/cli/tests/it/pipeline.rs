//! The reservation workflow end to end: ingest → interpreter → gate →
//! executor → notifier, with the ledger, against the real broker and Postgres.

use std::time::Duration;

use futures::StreamExt as _;
use serde_json::{Value, json};

use crate::stack::{Env, whatsapp};

const MINUTE: Duration = Duration::from_secs(60);

fn states(execution: &Value) -> Vec<String> {
    execution["journal"]
        .as_array()
        .map(|j| {
            j.iter()
                .filter_map(|e| e["to"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn happy_path_books_once_confirms_once_and_announces() -> anyhow::Result<()> {
    let env = Env::start(MINUTE).await?;
    let prefix = env.nats.subjects.prefix().to_owned();
    let mut completed = env
        .nats
        .client
        .subscribe(format!("{prefix}.events.completed.reservation"))
        .await?;

    let msg = whatsapp(
        "wamid.happy",
        "34600000001",
        "I would like a table for four tomorrow at nine.",
    );
    let id = env.accepted("wamid.happy", &msg).await?;
    let execution = env.settles_in(&id, "COMPLETED").await?;

    assert_eq!(
        states(&execution),
        [
            "RECEIVED",
            "VALIDATED",
            "MODEL_REQUESTED",
            "MODEL_COMPLETED",
            "OUTPUT_VALIDATED",
            "GATE_DECIDED",
            "AUTO_ACTION_PENDING",
            "EXECUTING",
            "ACTION_COMPLETED",
            "VERIFIED",
            "NOTIFIED",
            "COMPLETED",
        ]
    );
    let bookings = env.bookings().await?;
    assert_eq!(bookings["total"], 1);
    assert_eq!(bookings["by_key"]["reservation:whatsapp:wamid.happy"], 1);
    let messages = env.messages(&id).await?;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("table for 4")),
        "{messages:?}"
    );

    let event = tokio::time::timeout(Duration::from_secs(10), completed.next()).await?;
    let event: Value = serde_json::from_slice(&event.map(|m| m.payload).unwrap_or_default())?;
    assert_eq!(event["execution_id"], id);
    assert!(event["external_id"].is_string(), "{event}");
    env.stop().await
}

#[tokio::test]
async fn the_same_webhook_five_times_and_after_the_dedupe_window_books_once() -> anyhow::Result<()>
{
    let env = Env::start(Duration::from_secs(1)).await?;
    let msg = whatsapp("wamid.dup", "34600000002", "Table for two tomorrow at 8pm");
    let mut answers = Vec::new();
    for _ in 0..5 {
        answers.push(env.send("wamid.dup", &msg).await?);
    }
    assert!(
        answers.iter().all(|a| a == &answers[0] && a.0 == 202),
        "{answers:?}"
    );
    let id = answers[0].1["executions"][0]["execution_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    env.settles_in(&id, "COMPLETED").await?;

    // Past JetStream's dedupe window only the ledger can recognise it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let late = env.send("wamid.dup", &msg).await?;
    assert_eq!(late, answers[0]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let bookings = env.bookings().await?;
    assert_eq!(bookings["total"], 1, "{bookings}");
    assert_eq!(env.messages(&id).await?.len(), 1);
    env.stop().await
}

#[tokio::test]
async fn a_clarification_reply_completes_the_earlier_request() -> anyhow::Result<()> {
    let env = Env::start(MINUTE).await?;
    let ask = env
        .accepted(
            "wamid.q",
            &whatsapp("wamid.q", "34600000003", "A table tomorrow at nine"),
        )
        .await?;
    env.settles_in(&ask, "CLARIFICATION_REQUESTED").await?;
    let question = env.messages_eventually(&ask, 1).await?;
    assert_eq!(question.len(), 1, "one question: {question:?}");
    let text = question[0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(text.contains("how many"), "asks for the party size: {text}");
    assert!(
        !text.contains("date") && !text.contains("time"),
        "asks only for what is missing: {text}"
    );
    assert_eq!(env.bookings().await?["total"], 0);

    let reply = env
        .accepted(
            "wamid.a",
            &whatsapp("wamid.a", "34600000003", "four people"),
        )
        .await?;
    env.settles_in(&reply, "COMPLETED").await?;
    let bookings = env.bookings().await?;
    assert_eq!(bookings["total"], 1);
    let confirmation = env.messages(&reply).await?;
    // The workflow's timezone decides what "tomorrow" is.
    let tomorrow = (chrono::Utc::now().with_timezone(&chrono_tz::Europe::Madrid)
        + chrono::Duration::days(1))
    .format("%Y-%m-%d")
    .to_string();
    let text = confirmation[0]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("table for 4") && text.contains(&tomorrow) && text.contains("21:00"),
        "{text}"
    );
    env.stop().await
}

#[tokio::test]
async fn a_failing_confirmation_is_retried_without_booking_again() -> anyhow::Result<()> {
    let env = Env::start(MINUTE).await?;
    env.faults(json!({ "messages": { "fail_next": 2, "fail_status": 503 } }))
        .await?;
    let msg = whatsapp("wamid.n", "34600000004", "Table for 2 tomorrow at 20:00");
    let id = env.accepted("wamid.n", &msg).await?;
    env.settles_in(&id, "COMPLETED").await?;
    assert_eq!(env.messages(&id).await?.len(), 1);
    assert_eq!(env.bookings().await?["total"], 1);
    env.stop().await
}
