//! The reservation workflow checks availability before it books, end to
//! end: the gate asks the example booking service, a full slot makes the
//! guest's question offer the nearest free times, and nothing is booked.

use std::time::Duration;

use serde_json::json;

use crate::stack::{Env, whatsapp};

#[tokio::test]
async fn a_full_slot_is_a_question_with_the_nearest_free_times_and_no_booking() -> anyhow::Result<()>
{
    let env = Env::start(Duration::from_secs(60)).await?;
    // A slot with room: booked, and the booking tells us which day
    // "tomorrow" was.
    let booked = env
        .accepted(
            "ctx.1",
            &whatsapp("ctx.1", "34600000081", "Table for 2 tomorrow at 20:00"),
        )
        .await?;
    env.settles_in(&booked, "COMPLETED").await?;
    let url = format!(
        "http://{}/bookings/by-key/reservation:whatsapp:ctx.1",
        env.stack.booking
    );
    let booking: serde_json::Value = reqwest::get(url).await?.error_for_status()?.json().await?;
    let date = booking["date"].as_str().unwrap_or_default().to_owned();

    // The restaurant fills 20:00 that day.
    let capacity = format!("http://{}/admin/capacity", env.stack.booking);
    reqwest::Client::new()
        .post(capacity)
        .json(&json!({ "full": [format!("{date}T20:00")] }))
        .send()
        .await?
        .error_for_status()?;

    // Another guest asks for it (a party of three, so no earlier answer
    // for this request is cached).
    let asked = env
        .accepted(
            "ctx.2",
            &whatsapp("ctx.2", "34600000082", "Table for 3 tomorrow at 20:00"),
        )
        .await?;
    let view = env.settles_in(&asked, "CLARIFICATION_REQUESTED").await?;
    let messages = env.messages_eventually(&asked, 1).await?;
    let text = messages[0]["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("not available") && text.contains("19:30, 20:30 or 19:00"),
        "{text}"
    );
    assert_eq!(env.bookings().await?["total"], 1, "nothing booked");
    // The decision records what availability said and where it came from.
    let decided = view["journal"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["to"] == "GATE_DECIDED")
        .cloned()
        .unwrap_or_default();
    let used = &decided["detail"]["context"][0];
    assert_eq!(used["name"], "availability", "{decided}");
    assert_eq!(used["value"]["available"], false, "{decided}");
    assert_eq!(
        used["from"],
        format!("http://{}/availability", env.stack.booking),
        "{decided}"
    );
    env.stop().await
}
