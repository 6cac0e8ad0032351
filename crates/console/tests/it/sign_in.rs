//! Sessions: nothing is served without one, only operator tokens the
//! ledger accepts start one, and the cookie cannot be read by scripts or
//! sent by other sites.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};

use crate::harness::{ADMIN, Console, REVIEWER, SERVICE, SRE, csrf, location};

#[tokio::test]
async fn without_a_session_every_page_redirects_to_sign_in() -> anyhow::Result<()> {
    let console = Console::start().await?;
    let item = console.open_item().await?;
    let pages = [
        "/",
        "/reviews",
        &format!("/reviews/{}", item.id),
        "/reviews/999",
    ];
    for cookie in [None, Some("sluice_session=forged"), Some("other=1")] {
        for path in pages {
            let resp = console.get(path, cookie).await?;
            assert_eq!(
                resp.status(),
                StatusCode::SEE_OTHER,
                "GET {path} {cookie:?}"
            );
            assert_eq!(location(&resp), Some("/sign-in"));
            assert!(resp.text().await?.is_empty(), "GET {path} served content");
        }
        for verb in ["reject", "escalate"] {
            let path = format!("/reviews/{}/{verb}", item.id);
            let form = [("reason", "no session"), ("csrf", "x")];
            let resp = console.post(&path, cookie, &form).await?;
            assert_eq!(resp.status(), StatusCode::SEE_OTHER, "POST {path}");
            assert_eq!(location(&resp), Some("/sign-in"));
        }
        let resp = console.post("/sign-out", cookie, &[("csrf", "x")]).await?;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    }
    assert_eq!(console.item(item.id).await?.decided_by, None);
    let sign_in = console.get("/sign-in", None).await?;
    assert_eq!(sign_in.status(), StatusCode::OK);
    let html = sign_in.text().await?;
    assert!(html.contains(r#"<label for="token">"#));
    assert!(html.contains("<main>"));
    Ok(())
}

#[tokio::test]
async fn only_tokens_of_operators_sign_in() -> anyhow::Result<()> {
    let console = Console::start().await?;
    for (token, status) in [
        ("not-a-token-anyone-knows", StatusCode::UNAUTHORIZED),
        ("", StatusCode::BAD_REQUEST),
        (SERVICE, StatusCode::FORBIDDEN),
    ] {
        let resp = console.sign_in_response(token).await?;
        assert_eq!(resp.status(), status, "token {token:?}");
        assert!(resp.headers().get(SET_COOKIE).is_none());
    }
    for token in [REVIEWER, SRE, ADMIN] {
        let cookie = console.sign_in(token).await?;
        let queue = console.page("/reviews", &cookie).await?;
        assert!(queue.contains("Review queue"));
    }
    Ok(())
}

#[tokio::test]
async fn the_cookie_is_http_only_and_same_site_strict() -> anyhow::Result<()> {
    let console = Console::start().await?;
    let resp = console.sign_in_response(REVIEWER).await?;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), Some("/reviews"));
    let cookie = resp
        .headers()
        .get(SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(cookie.starts_with("sluice_session="), "{cookie}");
    let attributes: Vec<&str> = cookie.split(';').map(str::trim).collect();
    for wanted in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(attributes.contains(&wanted), "{cookie} lacks {wanted}");
    }
    // The token itself never reaches the browser.
    assert!(!cookie.contains(REVIEWER));
    Ok(())
}

#[tokio::test]
async fn an_expired_session_is_refused() -> anyhow::Result<()> {
    let console = Console::start_with_ttl(Duration::from_secs(1)).await?;
    let cookie = console.sign_in(REVIEWER).await?;
    console.page("/reviews", &cookie).await?;
    // Expiry is the one thing a test must wait out.
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let resp = console.get("/reviews", Some(&cookie)).await?;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), Some("/sign-in"));
    Ok(())
}

#[tokio::test]
async fn signing_out_ends_the_session() -> anyhow::Result<()> {
    let console = Console::start().await?;
    let cookie = console.sign_in(REVIEWER).await?;
    let page = console.page("/reviews", &cookie).await?;
    let wrong = console
        .post("/sign-out", Some(&cookie), &[("csrf", "forged")])
        .await?;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    console.page("/reviews", &cookie).await?;

    let token = csrf(&page)?;
    let resp = console
        .post("/sign-out", Some(&cookie), &[("csrf", &token)])
        .await?;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), Some("/sign-in"));
    let after = console.get("/reviews", Some(&cookie)).await?;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    Ok(())
}

#[tokio::test]
async fn pages_forbid_scripts_framing_and_caching() -> anyhow::Result<()> {
    use base64::Engine as _;

    let console = Console::start().await?;
    let resp = console.get("/sign-in", None).await?;
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let policy = header("content-security-policy");
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    // Scripts only from the console itself: never inline, never eval.
    assert!(policy.contains("script-src 'self';"), "{policy}");
    assert!(!policy.contains("unsafe"), "{policy}");
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("cache-control"), "no-store");
    // The policy allows exactly the stylesheet the page carries.
    let html = resp.text().await?;
    let style = html
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
        .map(|(style, _)| style)
        .unwrap_or_default();
    let digest = ring::digest::digest(&ring::digest::SHA256, style.as_bytes());
    let hash = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
    assert!(!style.is_empty());
    assert!(
        policy.contains(&format!("style-src 'sha256-{hash}'")),
        "{policy}"
    );
    Ok(())
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_address_and_good_ones_are_not() -> anyhow::Result<()> {
    let console = Console::start_with(|options| {
        options.failed_sign_ins_burst = 3;
        options.failed_sign_ins_per_second = 0.01;
    })
    .await?;
    // Good tokens never use up the allowance.
    for _ in 0..5 {
        console.sign_in(REVIEWER).await?;
    }
    for _ in 0..3 {
        let resp = console.sign_in_response("not-a-token-0123456789").await?;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    // Spent: refused without asking the ledger, even a good token.
    let resp = console.sign_in_response(REVIEWER).await?;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().get(SET_COOKIE).is_none());
    assert!(resp.text().await?.contains("Too many failed sign-ins"));
    Ok(())
}

#[tokio::test]
async fn a_form_sent_from_another_site_is_refused() -> anyhow::Result<()> {
    let console = Console::start().await?;
    let item = console.open_item().await?;
    let cookie = console.sign_in(REVIEWER).await?;
    let path = format!("/reviews/{}", item.id);
    let token = csrf(&console.page(&path, &cookie).await?)?;
    let resp = console
        .http
        .post(format!("{}{path}/reject", console.base))
        .header(COOKIE, &cookie)
        .header("origin", "https://attacker.example")
        .form(&[("reason", "spam"), ("csrf", token.as_str())])
        .send()
        .await?;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.text().await?.contains("another site"));
    assert_eq!(
        console.item(item.id).await?.status,
        sluice_ledger::ReviewStatus::Open
    );
    // The console's own origin passes.
    let resp = console
        .http
        .post(format!("{}{path}/reject", console.base))
        .header(COOKIE, &cookie)
        .header("origin", &console.base)
        .form(&[("reason", "spam"), ("csrf", token.as_str())])
        .send()
        .await?;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    Ok(())
}
