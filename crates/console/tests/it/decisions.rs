//! Decisions: only with the session's CSRF token, only by reviewers and
//! admins, recorded in the ledger under the operator's own name.

use reqwest::StatusCode;
use sluice_ledger::ReviewStatus;

use crate::harness::{ADMIN, Console, REVIEWER, SRE, csrf, location};

#[tokio::test]
async fn a_post_without_the_right_csrf_token_does_nothing() -> anyhow::Result<()> {
    let console = Console::start().await?;
    let item = console.open_item().await?;
    let cookie = console.sign_in(REVIEWER).await?;
    let path = format!("/reviews/{}/reject", item.id);
    let forms: [&[(&str, &str)]; 3] = [
        &[("reason", "duplicate")],
        &[("reason", "duplicate"), ("csrf", "")],
        &[("reason", "duplicate"), ("csrf", "0123456789abcdef")],
    ];
    for form in forms {
        let resp = console.post(&path, Some(&cookie), form).await?;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{form:?}");
    }
    // Another session's token is no better.
    let other = console.sign_in(REVIEWER).await?;
    let theirs = csrf(&console.page("/reviews", &other).await?)?;
    let form = [("reason", "duplicate"), ("csrf", theirs.as_str())];
    let resp = console.post(&path, Some(&cookie), &form).await?;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let now = console.item(item.id).await?;
    assert_eq!(now.status, ReviewStatus::Open);
    assert_eq!(now.decided_by, None);
    Ok(())
}

#[tokio::test]
async fn a_reviewer_rejects_with_a_reason() -> anyhow::Result<()> {
    let console = Console::start().await?;
    let item = console.open_item().await?;
    let cookie = console.sign_in(REVIEWER).await?;

    let queue = console.page("/reviews", &cookie).await?;
    assert!(queue.contains(&format!(r#"href="/reviews/{}""#, item.id)));
    assert!(queue.contains("party size above the automatic limit"));
    assert!(queue.contains(r#"<th scope="col">"#));

    let path = format!("/reviews/{}", item.id);
    let page = console.page(&path, &cookie).await?;
    assert!(page.contains("Table for 12 tonight at 21:00, name Ruiz"));
    assert!(page.contains("61 %"), "per-field confidence");
    assert!(page.contains("max_party_size"), "the failed check");
    assert!(page.contains("approve, correct or reject book_table"));
    assert!(page.contains(r#"<label for="reject-reason">"#));
    let token = csrf(&page)?;

    let reject = format!("{path}/reject");
    let empty = [("reason", "  "), ("csrf", token.as_str())];
    let resp = console.post(&reject, Some(&cookie), &empty).await?;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(console.item(item.id).await?.status, ReviewStatus::Open);

    let form = [("reason", "duplicate request"), ("csrf", token.as_str())];
    let resp = console.post(&reject, Some(&cookie), &form).await?;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), Some(path.as_str()));

    let decided = console.item(item.id).await?;
    assert_eq!(decided.status, ReviewStatus::Rejected);
    assert_eq!(decided.decided_by.as_deref(), Some("alice"));
    assert_eq!(
        decided.decision_reason.as_deref(),
        Some("duplicate request")
    );

    let page = console.page(&path, &cookie).await?;
    assert!(page.contains("REJECTED"));
    assert!(page.contains("<strong>alice</strong>"));
    assert!(
        !page.contains(r#"class="decision""#),
        "a decided item has no forms"
    );
    let queue = console.page("/reviews", &cookie).await?;
    assert!(!queue.contains(&format!(r#"href="/reviews/{}""#, item.id)));

    // Deciding twice is refused by the ledger, not repeated.
    let again = console.post(&reject, Some(&cookie), &form).await?;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    Ok(())
}

#[tokio::test]
async fn an_admin_escalates() -> anyhow::Result<()> {
    let console = Console::start().await?;
    let item = console.open_item().await?;
    let cookie = console.sign_in(ADMIN).await?;
    let path = format!("/reviews/{}", item.id);
    let token = csrf(&console.page(&path, &cookie).await?)?;
    let form = [("reason", "VIP, manager decides"), ("csrf", token.as_str())];
    let resp = console
        .post(&format!("{path}/escalate"), Some(&cookie), &form)
        .await?;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let decided = console.item(item.id).await?;
    assert_eq!(decided.status, ReviewStatus::Escalated);
    assert_eq!(decided.decided_by.as_deref(), Some("root"));
    Ok(())
}

#[tokio::test]
async fn an_sre_reads_the_queue_but_cannot_decide() -> anyhow::Result<()> {
    let console = Console::start().await?;
    let item = console.open_item().await?;
    let cookie = console.sign_in(SRE).await?;
    let queue = console.page("/reviews", &cookie).await?;
    assert!(queue.contains(&format!(r#"href="/reviews/{}""#, item.id)));
    let path = format!("/reviews/{}", item.id);
    let page = console.page(&path, &cookie).await?;
    assert!(page.contains("Table for 12 tonight"));
    assert!(!page.contains(r#"class="decision""#));
    assert!(!page.contains("/reject"));
    // The sign-out form carries this session's valid token.
    let token = csrf(&page)?;
    for verb in ["reject", "escalate"] {
        let form = [("reason", "looks wrong"), ("csrf", token.as_str())];
        let resp = console
            .post(&format!("{path}/{verb}"), Some(&cookie), &form)
            .await?;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{verb}");
    }
    let now = console.item(item.id).await?;
    assert_eq!(now.status, ReviewStatus::Open);
    Ok(())
}
