//! Fault injection: failures, hangs and "apply then drop the response".

use std::time::Duration;

use serde_json::json;

use crate::{Env, table_for_four};

#[tokio::test]
async fn fail_next_answers_the_status_without_effect() -> anyhow::Result<()> {
    let env = Env::start(false).await?;
    let set = env
        .post("/admin/faults", json!({"bookings": {"fail_next": 2}}))
        .await?;
    assert_eq!(set["bookings"]["fail_next"], 2);
    assert_eq!(env.book(Some("k"), &table_for_four()).await?.0, 503);
    assert_eq!(env.book(Some("k"), &table_for_four()).await?.0, 503);
    assert_eq!(env.book(Some("k"), &table_for_four()).await?.0, 201);
    env.post(
        "/admin/faults",
        json!({"bookings": {"fail_next": 1, "fail_status": 409}}),
    )
    .await?;
    assert_eq!(env.book(Some("k"), &table_for_four()).await?.0, 409);
    assert_eq!(env.get("/bookings/counts").await?.1["total"], 1);
    env.stop().await
}

#[tokio::test]
async fn apply_then_drop_books_but_never_answers() -> anyhow::Result<()> {
    let env = Env::start(false).await?;
    env.post(
        "/admin/faults",
        json!({"bookings": {"drop_response_next": 1}}),
    )
    .await?;
    let sent = env
        .http
        .post(env.url("/bookings"))
        .header("Idempotency-Key", "k")
        .timeout(Duration::from_millis(500))
        .json(&table_for_four())
        .send()
        .await;
    assert!(sent.is_err_and(|e| e.is_timeout()), "the caller times out");
    let (status, probe) = env.get("/bookings/by-key/k").await?;
    assert_eq!(status, 200, "yet the booking exists");
    assert_eq!(probe["bookings_with_key"], 1);
    env.stop().await
}

#[tokio::test]
async fn hang_and_latency() -> anyhow::Result<()> {
    let env = Env::start(false).await?;
    env.post(
        "/admin/faults",
        json!({"bookings": {"hang_next": 1, "latency_ms": 50}}),
    )
    .await?;
    let sent = env
        .http
        .post(env.url("/bookings"))
        .timeout(Duration::from_millis(400))
        .json(&table_for_four())
        .send()
        .await;
    assert!(sent.is_err_and(|e| e.is_timeout()));
    let started = std::time::Instant::now();
    assert_eq!(env.book(None, &table_for_four()).await?.0, 201);
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert_eq!(
        env.get("/bookings/counts").await?.1["total"],
        1,
        "a hang has no effect"
    );
    assert_eq!(
        env.get("/admin/faults").await?.1["bookings"]["hang_next"],
        0
    );
    env.stop().await
}
