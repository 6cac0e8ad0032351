//! A clarification's answer completes the parked request.

use chrono::Utc;
use serde_json::json;
use sluice_bus::PendingRequest;
use sluice_core::ExecutionId;

use crate::common::{Env, SENDER, Variant, message};

#[tokio::test]
async fn the_answer_completes_the_parked_request_and_closes_it() -> anyhow::Result<()> {
    let env = Env::start(Variant::shipped()).await?;
    let conversation = format!("whatsapp:{SENDER}");
    let conversations = env.bus.conversations().await?;
    let pending = PendingRequest {
        execution_id: ExecutionId::derive("whatsapp", "wamid.earlier", "reservation"),
        contract: json!({
            "channel": "whatsapp", "message_id": "wamid.earlier", "sender": SENDER,
            "date": "2026-11-24", "time": "21:00", "action": "create_booking",
        }),
        missing: vec!["party_size".into()],
        asked_at: Utc::now(),
    };
    conversations
        .park("reservation", &conversation, &pending)
        .await?;

    let envelope = message("four people");
    env.submit(&envelope, "0").await?;
    let i = env
        .wait_at_gate(&envelope, "0")
        .await?
        .interpretation
        .expect("interpretation");
    assert_eq!(i.contract["party_size"], json!(4));
    assert_eq!(i.contract["date"], json!("2026-11-24"));
    assert_eq!(i.contract["time"], json!("21:00"));
    assert_eq!(
        i.contract["message_id"], envelope.data["id"],
        "the new message's id"
    );
    assert_eq!(i.carried_over, ["date", "time"]);
    assert!(
        conversations
            .open("reservation", &conversation)
            .await?
            .is_none(),
        "closed once stored"
    );
    env.stop().await
}
