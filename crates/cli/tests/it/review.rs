//! `sluice review …`: the real binary deciding review items of a whole
//! stack — approve with a correction resumes the execution to one corrected
//! booking, a correction that breaks a rule is refused, reject closes.

use std::time::Duration;

use serde_json::Value;

use crate::cli::ok;
use crate::stack::{Env, repo, whatsapp};

/// The review items `sluice review list --json` shows.
async fn listed(env: &Env, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["review", "list", "--json"];
    args.extend_from_slice(extra);
    let json: Value = serde_json::from_str(&ok(&env.sluice(&args).await)).expect("json");
    json["items"].as_array().cloned().unwrap_or_default()
}

/// Sends a party of forty and waits for its review item; returns the
/// execution id and the item id.
async fn party_of_forty(env: &Env, wamid: &str) -> anyhow::Result<(String, String)> {
    let msg = whatsapp(
        wamid,
        "34600000009",
        "A table for 40 tomorrow at nine, please.",
    );
    let id = env.accepted(wamid, &msg).await?;
    env.settles_in(&id, "HUMAN_REVIEW_PENDING").await?;
    let items = listed(env, &["--status", "open"]).await;
    let item = items
        .iter()
        .find(|i| i["execution_id"] == id.as_str())
        .unwrap_or_else(|| panic!("no open item for {id}: {items:?}"));
    assert_eq!(item["kind"], "review");
    assert_eq!(item["handoff"]["collected"]["party_size"]["value"], 40);
    assert!(item["handoff"].get("envelope").is_none(), "{item}");
    Ok((id, item["id"].to_string()))
}

async fn booking(env: &Env, key: &str) -> anyhow::Result<Value> {
    let url = format!("http://{}/bookings/by-key/{key}", env.stack.booking);
    Ok(reqwest::get(url).await?.error_for_status()?.json().await?)
}

#[tokio::test]
async fn approve_with_a_correction_books_once_and_a_rule_breaking_one_is_refused()
-> anyhow::Result<()> {
    let env = Env::start(Duration::from_secs(60)).await?;
    let (id, item) = party_of_forty(&env, "wamid.forty").await?;

    // A correction that breaks a rule: refused, naming it; nothing decided.
    let refused = env
        .sluice(&[
            "review",
            "approve",
            &item,
            "--reason",
            "ok",
            "--set",
            "party_size=400",
        ])
        .await;
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("party_size"), "{stderr}");
    assert_eq!(listed(&env, &["--status", "open"]).await.len(), 1);
    assert_eq!(env.execution(&id).await?["state"], "HUMAN_REVIEW_PENDING");

    // A valid correction: decided, resumed, one booking of twelve.
    let approved = env
        .sluice(&[
            "review",
            "approve",
            &item,
            "--reason",
            "ok",
            "--set",
            "party_size=12",
        ])
        .await;
    let text = ok(&approved);
    assert!(text.contains("APPROVED"), "{text}");
    let view = env.settles_in(&id, "COMPLETED").await?;
    let counts = env.bookings().await?;
    assert_eq!(counts["total"], 1, "{counts}");
    let booked = booking(&env, "reservation:whatsapp:wamid.forty").await?;
    assert_eq!(booked["party_size"], 12, "{booked}");
    let journal = view["journal"].as_array().cloned().unwrap_or_default();
    let decision = journal
        .iter()
        .find(|e| e["to"] == "HUMAN_APPROVED")
        .unwrap_or_else(|| panic!("no HUMAN_APPROVED in {view}"));
    assert_eq!(decision["detail"]["manually_corrected"], true, "{decision}");

    // The item shows as decided, with its audit trail.
    let shown = ok(&env.sluice(&["review", "show", &item]).await);
    assert!(
        shown.contains("APPROVED") && shown.contains("review.approve"),
        "{shown}"
    );
    env.stop().await
}

#[tokio::test]
async fn reject_closes_and_escalate_escalates_with_no_booking() -> anyhow::Result<()> {
    let env = Env::start(Duration::from_secs(60)).await?;
    let (id, item) = party_of_forty(&env, "wamid.no").await?;
    // The human views: a table row, and the handoff in plain language.
    // Each item shows its workflow's owner (from --workflows-dir).
    let workflows = repo("workflows").display().to_string();
    let table = ok(&env
        .sluice(&["review", "list", "--workflows-dir", &workflows])
        .await);
    assert!(table.starts_with("ID  "), "{table}");
    assert!(table.contains(&id) && table.contains("OPEN"), "{table}");
    assert!(
        table.contains("OWNER") && table.contains("front-of-house"),
        "{table}"
    );
    let shown = ok(&env
        .sluice(&["review", "show", &item, "--workflows-dir", &workflows])
        .await);
    assert!(
        shown.contains("Owner:            front-of-house ("),
        "{shown}"
    );
    assert!(
        shown.contains("The user wanted:  A table for 40"),
        "{shown}"
    );
    assert!(shown.contains("party_size: 40"), "{shown}");
    assert!(shown.contains("Why it stopped:"), "{shown}");
    let text = ok(&env
        .sluice(&["review", "reject", &item, "--reason", "too many"])
        .await);
    assert!(text.contains("REJECTED"), "{text}");
    env.settles_in(&id, "CLOSED").await?;
    assert_eq!(listed(&env, &["--status", "rejected"]).await.len(), 1);

    let (up, item) = party_of_forty(&env, "wamid.up").await?;
    let args = ["review", "escalate", &item, "--reason", "ask the manager"];
    let text = ok(&env.sluice(&args).await);
    assert!(text.contains("ESCALATED"), "{text}");
    env.settles_in(&up, "ESCALATED").await?;
    // Decided items cannot be decided again.
    let again = env
        .sluice(&["review", "reject", &item, "--reason", "x"])
        .await;
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(env.bookings().await?["total"], 0);
    env.stop().await
}

#[tokio::test]
async fn an_item_past_its_sla_is_announced_once_and_listed_as_overdue() -> anyhow::Result<()> {
    // A one-second review SLA on the reservation workflow.
    let workflows = crate::stack::workflows_with(|toml| toml.replace("sla_s = 3600", "sla_s = 1"))?;
    let env = Env::start_in(Duration::from_secs(60), workflows.clone()).await?;
    let (id, item) = party_of_forty(&env, "wamid.sla").await?;
    let events = sluice_testkit::eventually::eventually(
        "the overdue announcement",
        Duration::from_secs(20),
        || async {
            let events = overdue(&env).await?;
            sluice_testkit::eventually::check(!events.is_empty(), || "none yet".to_owned())?;
            Ok(events)
        },
    )
    .await?;
    assert_eq!(events[0]["execution_id"], id.as_str(), "{events:?}");
    assert_eq!(
        events[0]["detail"]["review_item"].to_string(),
        item,
        "{events:?}"
    );
    assert!(events[0]["detail"]["sla_due_at"].is_string(), "{events:?}");

    // Listed as overdue; announced once, however many checks run.
    let listed = ok(&env.sluice(&["review", "list", "--overdue", "--json"]).await);
    let listed: Value = serde_json::from_str(&listed)?;
    assert_eq!(listed["items"][0]["id"].to_string(), item, "{listed}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(overdue(&env).await?.len(), 1);

    // Once decided it is no longer overdue.
    ok(&env
        .sluice(&["review", "reject", &item, "--reason", "too many"])
        .await);
    let listed = ok(&env.sluice(&["review", "list", "--overdue", "--json"]).await);
    assert!(listed.contains(r#""items":[]"#), "{listed}");
    env.stop().await?;
    std::fs::remove_dir_all(&workflows)?;
    Ok(())
}

/// The `review_overdue` announcements of the reservation workflow.
async fn overdue(env: &Env) -> anyhow::Result<Vec<Value>> {
    sluice_testkit::pipeline::named_events(&env.nats, "review_overdue", "reservation").await
}
