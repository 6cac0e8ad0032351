//! A reviewer in a real browser: a party of forty waits in the queue with
//! its handoff; a correction that breaks a rule is refused next to its
//! field; the corrected request is approved and booked exactly once; the
//! timeline shows the whole path.

use serde_json::Value;

use super::driver::{Browser, REVIEWER, stack};
use crate::stack::whatsapp;

#[tokio::test]
async fn a_reviewer_corrects_a_party_of_forty_and_exactly_one_corrected_booking_is_made()
-> anyhow::Result<()> {
    let env = stack().await?;
    let browser = Browser::open(&env, "review").await?;

    // Without a session every page leads to the sign-in form.
    browser.goto("/reviews").await?;
    assert_eq!(browser.path().await?, "/sign-in");
    browser.screenshot("sign-in").await?;
    browser.sign_in(REVIEWER).await?;

    // The queue is empty; the request arrives and shows up without a
    // reload (htmx, under a policy that allows no inline script).
    assert!(browser.text().await?.contains("No item is waiting"));
    let wamid = "wamid.browser.forty";
    let text = "A table for 40 tomorrow at nine, please.";
    let id = env
        .accepted(wamid, &whatsapp(wamid, "34600000041", text))
        .await?;
    env.settles_in(&id, "HUMAN_REVIEW_PENDING").await?;
    let row = browser.find("#queue table tbody tr").await?.text().await?;
    assert!(
        row.contains("reservation") && row.contains("party_size"),
        "{row}"
    );
    assert!(row.contains("front-of-house"), "the owner: {row}");
    browser.screenshot("queue").await?;
    browser.click("main table tbody a").await?;
    let item = browser.text().await?;
    assert!(item.contains(text), "the original message: {item}");
    assert!(item.contains("40"), "what was understood: {item}");
    assert!(
        item.contains("front-of-house — #front-of-house on the staff chat"),
        "the owner and how to reach them: {item}"
    );
    assert!(
        item.contains("exceeds the limit of 12"),
        "the failed check: {item}"
    );
    let field = browser.find("#set-party_size").await?;
    assert_eq!(field.prop("value").await?.as_deref(), Some("40"));
    // Fields that identify the request are not offered for correction.
    assert_eq!(browser.count("#set-message_id, #set-channel").await?, 0);
    browser.screenshot("item").await?;

    // Above the limit: refused next to the field, nothing decided.
    browser.fill("#set-party_size", "400").await?;
    browser
        .fill("#approve-reason", "guest confirmed by phone")
        .await?;
    browser
        .click("form[action$='/approve'] button[type=submit]")
        .await?;
    let error = browser.find("#set-party_size-error").await?.text().await?;
    assert!(error.contains("exceeds the limit of 12"), "{error}");
    let field = browser.find("#set-party_size").await?;
    assert_eq!(field.attr("aria-invalid").await?.as_deref(), Some("true"));
    assert_eq!(field.prop("value").await?.as_deref(), Some("400"));
    browser.screenshot("refused").await?;
    assert_eq!(env.execution(&id).await?["state"], "HUMAN_REVIEW_PENDING");
    assert_eq!(env.bookings().await?["total"], 0);

    // Corrected to ten and approved: one booking, of ten.
    browser.fill("#set-party_size", "10").await?;
    browser
        .fill("#approve-reason", "guest confirmed ten by phone")
        .await?;
    browser
        .click("form[action$='/approve'] button[type=submit]")
        .await?;
    let decided = browser.reload_until("APPROVED").await?;
    assert!(decided.contains("alice"), "who decided: {decided}");
    assert!(
        decided.contains("guest confirmed ten by phone"),
        "{decided}"
    );
    browser.screenshot("approved").await?;
    let view = env.settles_in(&id, "COMPLETED").await?;
    let counts = env.bookings().await?;
    assert_eq!(counts["total"], 1, "{counts}");
    assert_eq!(counts["duplicated_keys"], serde_json::json!([]), "{counts}");
    let url = format!(
        "http://{}/bookings/by-key/reservation:whatsapp:{wamid}",
        env.stack.booking
    );
    let booked: Value = reqwest::get(url).await?.error_for_status()?.json().await?;
    assert_eq!(booked["party_size"], 10, "{booked}");

    // The timeline: every step, the review decision, the prompt version.
    browser.goto(&format!("/executions/{id}")).await?;
    let timeline = browser.text().await?;
    for step in ["HUMAN_REVIEW_PENDING", "HUMAN_APPROVED", "COMPLETED", "v1"] {
        assert!(timeline.contains(step), "{step} in {timeline}");
    }
    browser.screenshot("timeline").await?;

    // Found again by its correlation id.
    let correlation = view["correlation_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    browser.goto("/executions").await?;
    browser.fill("#q", &correlation).await?;
    browser.click("form.search button[type=submit]").await?;
    let found = browser.find("main table tbody").await?.text().await?;
    assert!(found.contains(&id), "{found}");
    browser.screenshot("executions").await?;

    // On a phone: the item page fits the screen's width (wide tables
    // scroll inside themselves) and the decision stays readable.
    browser.client.set_window_size(390, 844).await?;
    browser.goto("/reviews").await?;
    browser.goto(&format!("/executions/{id}")).await?;
    let overflow = browser
        .client
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
            Vec::new(),
        )
        .await?;
    assert!(
        overflow.as_i64().is_some_and(|px| px <= 0),
        "wider than the phone by {overflow}px"
    );
    browser.screenshot("phone-timeline").await?;

    browser.close().await?;
    env.stop().await
}
