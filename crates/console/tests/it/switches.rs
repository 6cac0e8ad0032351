//! Switches: everyone signed in reads them; sre and admin turn them off and
//! on with a reason, audited in the ledger under their own name before the
//! bucket changes; a breaker's trip is marked as one. Every refused form
//! leaves the bucket and the audit trail as they were.

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::json;
use sluice_bus::{Switch, SwitchState, Switches};
use sluice_ledger::{AuditRecord, SwitchChange};

use crate::harness::{ADMIN, Console, REVIEWER, SRE, csrf, location};

/// The streams and the switch bucket under the console's prefix.
async fn provision(console: &Console) -> anyhow::Result<Switches> {
    let bus = console.provision().await?;
    Ok(Switches::open(&bus).await?)
}

/// `POST /switches` with a form.
async fn turn(
    console: &Console,
    cookie: &str,
    token: &str,
    (key, state, reason): (&str, &str, &str),
) -> anyhow::Result<reqwest::Response> {
    let form = [
        ("csrf", token),
        ("key", key),
        ("state", state),
        ("reason", reason),
    ];
    console.post("/switches", Some(cookie), &form).await
}

/// The switch's audit trail, read by an admin.
async fn audit(console: &Console, key: &str) -> anyhow::Result<Vec<AuditRecord>> {
    let admin = console.ledger.client(Some(ADMIN))?;
    Ok(admin.list_audit("switch", key, 100).await?)
}

#[tokio::test]
async fn an_sre_turns_a_switch_off_and_on_with_a_reason() -> anyhow::Result<()> {
    let console = Console::start().await?;
    let bucket = provision(&console).await?;
    let cookie = console.sign_in(SRE).await?;
    let page = console.page("/switches", &cookie).await?;
    assert!(page.contains("No switch has been set"), "{page}");
    assert!(page.contains(r#"<label for="another-key">"#), "{page}");
    let token = csrf(&page)?;

    let off = ("reservation", "off", "booking service maintenance");
    let resp = turn(&console, &cookie, &token, off).await?;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), Some("/switches/reservation"));
    let stored = bucket.get("reservation").await?.expect("switched off");
    assert_eq!(stored.switch.state, SwitchState::Off);
    assert_eq!(stored.switch.by, "bob");
    assert_eq!(stored.switch.source, "operator");
    assert_eq!(stored.switch.reason, "booking service maintenance");
    let rows = audit(&console, "reservation").await?;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].actor.as_str(), rows[0].role.as_str()),
        ("bob", "sre")
    );
    assert_eq!(rows[0].action, "switch.off");
    assert_eq!(stored.switch.audit_id, Some(rows[0].id));

    // The list says who and why, and offers to turn it back on.
    let page = console.page("/switches", &cookie).await?;
    assert!(page.contains(r#"<a href="/switches/reservation">reservation</a>"#));
    assert!(page.contains("bob (operator)"), "{page}");
    assert!(page.contains("booking service maintenance"), "{page}");
    assert!(
        page.contains(r#"<label for="on-reservation-reason">"#),
        "{page}"
    );
    let trail = console.page("/switches/reservation", &cookie).await?;
    assert!(
        trail.contains("switch.off") && trail.contains("bob (sre)"),
        "{trail}"
    );

    let on = ("reservation", "on", "maintenance over");
    let resp = turn(&console, &cookie, &token, on).await?;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let stored = bucket.get("reservation").await?.expect("switched on");
    assert_eq!(stored.switch.state, SwitchState::On);
    assert_eq!(stored.switch.reason, "maintenance over");
    let actions: Vec<String> = audit(&console, "reservation")
        .await?
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(actions, ["switch.off", "switch.on"]);

    // An admin turns off one action that was never listed.
    let admin = console.sign_in(ADMIN).await?;
    let token = csrf(&console.page("/switches", &admin).await?)?;
    let action = ("reservation.create_booking", "off", "duplicate bookings");
    let resp = turn(&console, &admin, &token, action).await?;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let stored = bucket.get("reservation.create_booking").await?;
    let stored = stored.expect("action switched off").switch;
    assert_eq!(
        (stored.state, stored.by.as_str()),
        (SwitchState::Off, "root")
    );
    console.nats.cleanup().await
}

#[tokio::test]
async fn a_reviewer_reads_the_switches_but_cannot_change_them() -> anyhow::Result<()> {
    let console = Console::start().await?;
    let bucket = provision(&console).await?;
    let sre = console.sign_in(SRE).await?;
    let token = csrf(&console.page("/switches", &sre).await?)?;
    turn(
        &console,
        &sre,
        &token,
        ("reservation", "off", "incident 42"),
    )
    .await?;
    let before = bucket.get("reservation").await?;

    let cookie = console.sign_in(REVIEWER).await?;
    let page = console.page("/switches", &cookie).await?;
    assert!(
        page.contains("incident 42") && page.contains("bob (operator)"),
        "{page}"
    );
    assert!(!page.contains(r#"action="/switches""#), "no forms: {page}");
    assert!(!page.contains(r#"href="/switches/reservation""#), "{page}");
    // The sign-out form carries this session's valid token.
    let token = csrf(&page)?;
    for form in [
        ("reservation", "on", "looks fine to me"),
        ("reservation.create_booking", "off", "why not"),
    ] {
        let resp = turn(&console, &cookie, &token, form).await?;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{form:?}");
    }
    let trail = console.get("/switches/reservation", Some(&cookie)).await?;
    assert_eq!(trail.status(), StatusCode::FORBIDDEN);

    assert_eq!(bucket.get("reservation").await?, before, "unchanged");
    assert_eq!(bucket.get("reservation.create_booking").await?, None);
    assert_eq!(audit(&console, "reservation").await?.len(), 1);
    console.nats.cleanup().await
}

#[tokio::test]
async fn a_form_without_csrf_reason_or_a_valid_key_changes_nothing() -> anyhow::Result<()> {
    let console = Console::start().await?;
    let bucket = provision(&console).await?;
    let cookie = console.sign_in(SRE).await?;
    let token = csrf(&console.page("/switches", &cookie).await?)?;
    turn(
        &console,
        &cookie,
        &token,
        ("reservation", "off", "incident 7"),
    )
    .await?;
    let before = bucket.get("reservation").await?;

    let no_csrf = [("key", "reservation"), ("state", "on"), ("reason", "over")];
    let resp = console.post("/switches", Some(&cookie), &no_csrf).await?;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let forged = ("reservation", "on", "over");
    let resp = turn(&console, &cookie, "0123456789abcdef", forged).await?;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let resp = turn(&console, &cookie, &token, ("reservation", "on", "  ")).await?;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body = resp.text().await?;
    assert!(body.contains("a switch change needs a reason"), "{body}");

    // The ledger refuses what it cannot audit, and its own words are shown.
    let multiline = ("reservation", "on", "line one\r\nline two");
    let resp = turn(&console, &cookie, &token, multiline).await?;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body = resp.text().await?;
    assert!(
        body.contains("must not contain control characters"),
        "{body}"
    );

    for key in ["reservation.*", "a b", "reservation.create.booking", ""] {
        let resp = turn(&console, &cookie, &token, (key, "off", "incident 8")).await?;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{key:?}");
        let body = resp.text().await?;
        assert!(body.contains("switch keys look like"), "{key:?}: {body}");
    }
    let resp = turn(&console, &cookie, &token, ("reservation", "half_open", "x")).await?;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = console.get("/switches/a%20b", Some(&cookie)).await?;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    assert_eq!(bucket.get("reservation").await?, before, "unchanged");
    assert_eq!(bucket.list().await?.len(), 1, "no other key written");
    assert_eq!(audit(&console, "reservation").await?.len(), 1);
    console.nats.cleanup().await
}

#[tokio::test]
async fn a_breaker_trip_is_marked_and_an_sre_turns_it_back_on() -> anyhow::Result<()> {
    let console = Console::start().await?;
    let bucket = provision(&console).await?;
    // What the gate's breaker does: the switch first, then its audit row,
    // under the service's own identity.
    let reason = "breaker: failure rate 1.00 > 0.50 over 3 samples";
    let trip = Switch {
        state: SwitchState::Off,
        by: "executor".into(),
        reason: reason.into(),
        at: Some(Utc::now()),
        source: "breaker".into(),
        canaries: 0,
        audit_id: None,
    };
    bucket.put_if("reservation", &trip, 0).await?;
    let change = SwitchChange {
        key: "reservation".into(),
        state: "off".into(),
        reason: reason.into(),
        source: "breaker".into(),
        detail: Some(json!({ "kind": "failure" })),
    };
    console.ledger.client.record_switch_change(&change).await?;

    let cookie = console.sign_in(SRE).await?;
    let page = console.page("/switches", &cookie).await?;
    assert!(page.contains("breaker trip"), "{page}");
    // As written, HTML-escaped.
    assert!(page.contains("failure rate 1.00 &gt; 0.50"), "{page}");
    let trail = console.page("/switches/reservation", &cookie).await?;
    assert!(
        trail.contains("executor (service)") && trail.contains("breaker"),
        "{trail}"
    );

    let token = csrf(&page)?;
    let on = ("reservation", "on", "target fixed, resuming");
    let resp = turn(&console, &cookie, &token, on).await?;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let stored = bucket.get("reservation").await?.expect("set").switch;
    assert_eq!(
        (stored.state, stored.source.as_str()),
        (SwitchState::On, "operator")
    );
    let page = console.page("/switches", &cookie).await?;
    assert!(!page.contains("breaker trip"), "{page}");
    console.nats.cleanup().await
}
