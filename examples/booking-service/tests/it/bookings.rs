//! Bookings, the honour switch, the probe and the counts.

use serde_json::json;

use crate::{Env, table_for_four};

#[tokio::test]
async fn ignored_keys_create_a_second_booking() -> anyhow::Result<()> {
    let env = Env::start(false).await?;
    let (s1, b1) = env.book(Some("k1"), &table_for_four()).await?;
    let (s2, b2) = env.book(Some("k1"), &table_for_four()).await?;
    assert_eq!((s1, s2), (201, 201));
    assert_ne!(b1["booking_id"], b2["booking_id"]);
    let (_, counts) = env.get("/bookings/counts").await?;
    assert_eq!(counts["total"], 2);
    assert_eq!(counts["by_key"]["k1"], 2);
    assert_eq!(counts["duplicated_keys"], json!(["k1"]));
    let (status, probe) = env.get("/bookings/by-key/k1").await?;
    assert_eq!(status, 200);
    assert_eq!(probe["booking_id"], b1["booking_id"]);
    assert_eq!(probe["bookings_with_key"], 2);
    env.stop().await
}

#[tokio::test]
async fn honoured_keys_return_the_original_booking() -> anyhow::Result<()> {
    let env = Env::start(true).await?;
    let (s1, b1) = env.book(Some("k1"), &table_for_four()).await?;
    let (s2, b2) = env.book(Some("k1"), &table_for_four()).await?;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(b1, b2);
    let mut other = table_for_four();
    other["party_size"] = json!(5);
    let (s3, _) = env.book(Some("k1"), &other).await?;
    assert_eq!(s3, 422, "a honoured key reused with other arguments");
    let (s4, _) = env.book(None, &table_for_four()).await?;
    assert_eq!(s4, 201);
    let (_, counts) = env.get("/v1/admin/counts").await?;
    assert_eq!(counts["total"], 2);
    assert_eq!(counts["by_key"]["k1"], 1);

    // Switched off at runtime: the same key books again.
    env.post("/admin/idempotency", json!({"honour": false}))
        .await?;
    let (_, b5) = env.book(Some("k1"), &table_for_four()).await?;
    assert_ne!(b5["booking_id"], b1["booking_id"]);
    let (_, counts) = env.get("/bookings/counts").await?;
    assert_eq!(counts["by_key"]["k1"], 2);
    env.stop().await
}

#[tokio::test]
async fn invalid_requests_and_unknown_keys() -> anyhow::Result<()> {
    let env = Env::start(false).await?;
    let mut bad = table_for_four();
    bad["party_size"] = json!(0);
    assert_eq!(env.book(Some("k"), &bad).await?.0, 400);
    assert_eq!(env.book(Some("k"), &json!({"name": "x"})).await?.0, 400);
    assert_eq!(env.get("/bookings/by-key/nope").await?.0, 404);
    assert_eq!(env.get("/bookings/counts").await?.1["total"], 0);
    env.stop().await
}

#[tokio::test]
async fn messages_are_stored_and_listed() -> anyhow::Result<()> {
    let env = Env::start(false).await?;
    let resp = env
        .http
        .post(env.url("/v1/messages"))
        .header("Idempotency-Key", "notify:1")
        .json(&json!({"to": "+34600000000", "text": "Booked.", "execution_id": "e1"}))
        .send()
        .await?;
    assert_eq!(resp.status().as_u16(), 202);
    let (_, list) = env.get("/v1/messages?execution_id=e1").await?;
    let messages = list["messages"].as_array().cloned().unwrap_or_default();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["text"], "Booked.");
    assert_eq!(messages[0]["idempotency_key"], "notify:1");
    assert_eq!(
        env.get("/v1/messages?execution_id=e2").await?.1["messages"],
        json!([])
    );
    env.stop().await
}
