//! An sre turns the reservation workflow off in the console: a request
//! that arrives meanwhile is held, nothing is booked; turned on again, it is
//! booked exactly once.

use std::time::Duration;

use sluice_core::Stage;
use sluice_testkit::eventually::{check, eventually};

use super::driver::{Browser, REVIEWER, SRE, stack};
use crate::stack::whatsapp;

#[tokio::test]
async fn turning_a_switch_off_stops_effects_until_it_is_on_again() -> anyhow::Result<()> {
    let env = stack().await?;

    // A reviewer sees the page but no way to change a switch.
    let reviewer = Browser::open(&env, "switches-reviewer").await?;
    reviewer.sign_in(REVIEWER).await?;
    reviewer.goto("/switches").await?;
    assert_eq!(reviewer.count("form[action='/switches']").await?, 0);
    reviewer.close().await?;

    let browser = Browser::open(&env, "switches").await?;
    browser.sign_in(SRE).await?;
    browser.goto("/switches").await?;
    browser.fill("#another-key", "reservation").await?;
    browser
        .fill("#another-reason", "booking system maintenance")
        .await?;
    browser
        .click("form:has(#another-key) button[type=submit]")
        .await?;
    let shown = browser.reload_until("booking system maintenance").await?;
    assert!(shown.contains("bob"), "who turned it off: {shown}");
    browser.screenshot("off").await?;
    eventually("the gate is paused", Duration::from_secs(20), || async {
        let paused = env
            .stack
            .bus
            .stage_paused(Stage::Gate, "reservation")
            .await?;
        check(paused, || "not paused yet".to_owned())
    })
    .await?;

    let wamid = "wamid.browser.switch";
    let text = "A table for 2 tomorrow at 20:00";
    let id = env
        .accepted(wamid, &whatsapp(wamid, "34600000052", text))
        .await?;
    // Held before the gate: understood, but neither decided nor booked.
    env.settles_in(&id, "OUTPUT_VALIDATED").await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(env.execution(&id).await?["state"], "OUTPUT_VALIDATED");
    assert_eq!(env.bookings().await?["total"], 0);

    browser.goto("/switches").await?;
    browser
        .fill("#on-reservation-reason", "maintenance over")
        .await?;
    browser
        .click("form:has(#on-reservation-reason) button[type=submit]")
        .await?;
    browser.reload_until("maintenance over").await?;
    browser.screenshot("on").await?;
    env.settles_in(&id, "COMPLETED").await?;
    let counts = env.bookings().await?;
    assert_eq!(counts["total"], 1, "{counts}");

    browser.close().await?;
    env.stop().await
}
