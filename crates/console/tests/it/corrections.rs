//! Approve with corrections: the form is generated from the contract, a
//! correction is checked by the contract and the gate's rules before
//! anything is decided, fields that identify the request are refused, and
//! the resumed envelope carries the corrected request.

use chrono::{Days, Utc};
use reqwest::StatusCode;
use serde_json::json;
use sluice_core::subjects::StreamKind;
use sluice_core::{CorrelationId, Envelope, Stage};
use sluice_ledger::ReviewStatus;

use crate::approve::resumable_item;
use crate::harness::{Console, REVIEWER, csrf};

/// A party of forty as the reservation workflow's interpreter would hand
/// it over: a whole contract.
fn forty() -> Envelope {
    let event_id = sluice_testkit::unique_token();
    let data =
        json!({"id": event_id, "from": "34600000000", "text": "table for 40 tomorrow at nine"});
    let mut e = Envelope::new(
        "whatsapp",
        event_id.clone(),
        "reservation",
        CorrelationId::generate(),
        Utc::now(),
        data,
    );
    let tomorrow = Utc::now().date_naive() + Days::new(1);
    let contract = json!({
        "channel": "whatsapp", "message_id": event_id, "sender": "34600000000",
        "action": "create_booking", "name": "Ruiz", "party_size": 40,
        "date": tomorrow.to_string(), "time": "21:00",
    });
    e.interpretation = Some(sluice_testkit::pipeline::interpretation(
        contract,
        0.9,
        "create_booking",
    ));
    e
}

#[tokio::test]
async fn corrections_are_checked_before_anything_is_decided() -> anyhow::Result<()> {
    let console = Console::start().await?;
    let bus = console.provision().await?;
    let envelope = forty();
    let item = resumable_item(&console, &envelope).await?;
    let cookie = console.sign_in(REVIEWER).await?;
    let path = format!("/reviews/{}", item.id);
    let page = console.page(&path, &cookie).await?;
    // One input per correctable field, filled with what was understood;
    // none for the fields that identify the request.
    assert!(
        page.contains(r#"name="set.party_size" type="number" value="40""#),
        "{page}"
    );
    assert!(!page.contains(r#"name="set.message_id""#));
    assert!(!page.contains(r#"name="set.sender""#));
    let token = csrf(&page)?;
    let approve = format!("{path}/approve");

    let refused = [
        // Identifies the request: a new value would give it a second key.
        (("set.message_id", "wamid.other"), "identifies the request"),
        (("set.party_size", "ten"), "must be a whole number"),
        (("set.party_size", "13"), "exceeds the limit of 12"),
        (("set.time", "25:99"), "does not match"),
        (("set.nonsense", "1"), "is not a field of this workflow"),
    ];
    for ((name, value), why) in refused {
        let form = [
            ("reason", "per phone"),
            ("csrf", token.as_str()),
            (name, value),
        ];
        let resp = console.post(&approve, Some(&cookie), &form).await?;
        assert_eq!(
            resp.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}={value}"
        );
        let shown = resp.text().await?;
        assert!(shown.contains(why), "{name}={value}: {why} in {shown}");
        assert!(shown.contains("per phone"), "the reason is kept");
        assert_eq!(console.item(item.id).await?.status, ReviewStatus::Open);
    }
    let stream_name = console.nats.subjects.stream(StreamKind::Pipeline);
    let stream = bus.jetstream().get_stream(&stream_name).await?;
    assert_eq!(
        stream.get_info().await?.state.messages,
        0,
        "nothing resumed"
    );

    // Unchanged fields are no correction; the changed one is.
    let form = [
        ("reason", "guest confirmed eight"),
        ("csrf", token.as_str()),
        ("set.party_size", "8"),
        ("set.time", "21:00"),
        ("set.name", "Ruiz"),
    ];
    let resp = console.post(&approve, Some(&cookie), &form).await?;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let decided = console.item(item.id).await?;
    assert_eq!(decided.status, ReviewStatus::Approved);
    assert_eq!(decided.corrections, Some(json!({"party_size": 8})));
    let subject = console.nats.subjects.stage(Stage::Execute, "reservation")?;
    let message = stream.get_last_raw_message_by_subject(&subject).await?;
    let resumed: Envelope = serde_json::from_slice(&message.payload)?;
    let contract = &resumed.interpretation.as_ref().map(|i| i.contract.clone());
    assert_eq!(
        contract.as_ref().map(|c| c["party_size"].clone()),
        Some(json!(8))
    );
    assert_eq!(
        contract.as_ref().map(|c| c["message_id"].clone()),
        Some(json!(envelope.event_id))
    );
    let decision = resumed.decision.as_ref().map(|d| d.summary.clone());
    assert!(
        decision.is_some_and(|s| s.starts_with("auto")),
        "the gate's new decision"
    );
    console.nats.cleanup().await?;
    Ok(())
}
