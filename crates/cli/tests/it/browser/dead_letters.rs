//! Dead letters in the console: a reviewer has no way to them and no
//! replay button; an sre previews a replay (nothing sent), is stopped by a
//! wrong confirmation, then replays and watches the batch finish.

use std::time::Duration;

use sluice_core::Stage;
use sluice_ledger::{DeadLetter, DeadLetterFilter, DeadLetterStatus, LedgerClient};
use sluice_testkit::eventually::{check, eventually};

use super::driver::{ADMIN, Browser, REVIEWER, SRE, ledger, stack};

/// The open dead letters of the execute stage, as an admin reads them.
async fn open_entries(ledger: &LedgerClient) -> anyhow::Result<Vec<DeadLetter>> {
    let filter = DeadLetterFilter {
        stage: Some("execute".into()),
        status: Some(DeadLetterStatus::Open),
        limit: 50,
        ..Default::default()
    };
    Ok(ledger.list_dead_letters(&filter).await?.dead_letters)
}

#[tokio::test]
async fn an_sre_replays_a_dead_letter_after_a_dry_run_and_a_reviewer_cannot() -> anyhow::Result<()>
{
    let env = stack().await?;
    let admin = ledger(&env, ADMIN)?;
    // Bytes that are no envelope: the executor dead-letters them at once.
    let subject = env.nats.subjects.stage(Stage::Execute, "reservation")?;
    env.nats
        .jetstream
        .publish(subject, "not an envelope".into())
        .await?
        .await?;
    let entry = eventually(
        "the dead letter is indexed",
        Duration::from_secs(30),
        || async {
            let entries = open_entries(&admin).await?;
            check(entries.len() == 1, || format!("{} entries", entries.len()))?;
            Ok(entries[0].clone())
        },
    )
    .await?;
    let page = format!("/dead-letters/{}", entry.id);

    // A reviewer: no link, no page, no button.
    let reviewer = Browser::open(&env, "dead-letters-reviewer").await?;
    reviewer.sign_in(REVIEWER).await?;
    assert_eq!(reviewer.count("nav a[href='/dead-letters']").await?, 0);
    reviewer.goto(&page).await?;
    let refused = reviewer.text().await?;
    assert!(refused.contains("Forbidden"), "{refused}");
    assert_eq!(
        reviewer
            .count("form[action='/dead-letters/replays/preview']")
            .await?,
        0
    );
    reviewer.screenshot("refused").await?;
    reviewer.close().await?;

    let browser = Browser::open(&env, "dead-letters").await?;
    browser.sign_in(SRE).await?;
    browser.click("nav a[href='/dead-letters']").await?;
    let list = browser.text().await?;
    assert!(list.contains(&entry.reason), "{list}");
    browser.screenshot("list").await?;
    browser.goto(&page).await?;
    browser.screenshot("entry").await?;

    // The dry run: what would be sent, and nothing sent.
    browser
        .click("form[action='/dead-letters/replays/preview'] button[type=submit]")
        .await?;
    let preview = browser.text().await?;
    assert!(preview.contains("Nothing has been sent"), "{preview}");
    assert!(
        preview.contains(":execute:replay:1"),
        "the Msg-Id: {preview}"
    );
    browser.screenshot("preview").await?;
    let unchanged = admin.get_dead_letter(entry.id).await?.0;
    assert_eq!(
        (unchanged.replay_count, unchanged.status),
        (0, DeadLetterStatus::Open)
    );

    // A wrong confirmation sends nothing and says why, next to the field.
    browser.fill("#replay-reason", "executor fixed").await?;
    browser.fill("#replay-confirm", "replay 2").await?;
    browser
        .click("form[action='/dead-letters/replays'] button[type=submit]")
        .await?;
    let why = browser.find("#replay-confirm-error").await?.text().await?;
    assert!(why.contains("replay 1"), "{why}");
    assert_eq!(admin.get_dead_letter(entry.id).await?.0.replay_count, 0);

    // Confirmed: the batch runs and the progress page reaches the end.
    browser.fill("#replay-reason", "executor fixed").await?;
    browser.fill("#replay-confirm", "replay 1").await?;
    browser
        .click("form[action='/dead-letters/replays'] button[type=submit]")
        .await?;
    let done = browser.reload_until("Done.").await?;
    assert!(done.contains("published"), "{done}");
    browser.screenshot("progress").await?;
    let replayed = admin.get_dead_letter(entry.id).await?;
    assert_eq!(replayed.0.replay_count, 1);
    assert_eq!(replayed.0.status, DeadLetterStatus::Replayed);
    assert!(
        replayed
            .1
            .iter()
            .any(|a| a.actor == "bob" && a.reason == "executor fixed"),
        "audited under the sre's name: {:?}",
        replayed.1
    );

    browser.close().await?;
    env.stop().await
}
