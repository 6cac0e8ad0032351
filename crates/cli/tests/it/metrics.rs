//! `/metrics` after the demo's scenarios, scraped over HTTP from the stack's
//! metrics listener (every service of the process shares one recorder, and
//! each test runs in its own process): each catalogue metric the scenarios
//! exercise is there with the expected value, and nothing is exported that
//! the catalogue does not declare, under exactly the declared labels.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use sluice_core::metrics::{self as catalogue, CATALOGUE, MetricKind};
use sluice_testkit::eventually::{check, eventually};

use crate::cli::ok;
use crate::prom::Page;
use crate::stack::{Env, whatsapp};

const RESERVATION: (&str, &str) = ("workflow", "reservation");
/// The reservation workflow's declared owner.
const OWNER: (&str, &str) = ("owner", "front-of-house");
const UNOWNED: (&str, &str) = ("owner", sluice_core::workflow::UNOWNED);

async fn scraped(env: &Env) -> anyhow::Result<Page> {
    Page::parse(&env.scrape().await?)
}

/// Waits until the scraped page passes `test` (gauges are sampled every
/// second, counters land when the handler that counts them finishes).
async fn scraped_until(
    env: &Env,
    what: &str,
    test: impl Fn(&Page) -> anyhow::Result<()>,
) -> anyhow::Result<Page> {
    eventually(what, Duration::from_secs(30), || async {
        let page = scraped(env).await?;
        test(&page)?;
        Ok(page)
    })
    .await
}

fn equals(page: &Page, name: &str, labels: &[(&str, &str)], want: f64) -> anyhow::Result<()> {
    let got = page.sum(name, labels);
    check(got == want, || {
        format!("{name}{labels:?} is {got}, want {want}")
    })
}

#[tokio::test]
async fn the_demo_scenarios_show_up_in_metrics() -> anyhow::Result<()> {
    let env = Env::start(Duration::from_secs(60)).await?;
    // One temporary failure of the booking API: retried in process.
    env.faults(json!({ "bookings": { "fail_next": 1, "fail_status": 503 } }))
        .await?;

    // The same webhook three times: one execution, one booking.
    let msg = whatsapp(
        "wamid.m.dup",
        "34600000031",
        "Table for two tomorrow at 8pm please",
    );
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(env.send("wamid.m.dup", &msg).await?);
    }
    let booked = answers[0].1["executions"][0]["execution_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    env.settles_in(&booked, "COMPLETED").await?;
    assert_eq!(env.bookings().await?["total"], 1);

    // Unsure of the party and the hour: confidence below auto → review.
    let unsure = whatsapp(
        "wamid.m.low",
        "34600000032",
        "A table for a couple tomorrow at 8",
    );
    let reviewed = env.accepted("wamid.m.low", &unsure).await?;
    env.settles_in(&reviewed, "HUMAN_REVIEW_PENDING").await?;

    // No party size: the guest is asked.
    let vague = whatsapp("wamid.m.ask", "34600000033", "A table tomorrow at nine");
    let asked = env.accepted("wamid.m.ask", &vague).await?;
    env.settles_in(&asked, "CLARIFICATION_REQUESTED").await?;

    // Not JSON on the NATS input: dead-lettered by ingest.
    let prefix = env.nats.subjects.prefix().to_owned();
    env.nats
        .jetstream
        .publish(format!("{prefix}.in.whatsapp.metrics"), "{not json".into())
        .await?
        .await?;

    let page = scraped_until(&env, "the backlog gauges", |p| {
        // An ingest dead letter belongs to a source, which no team owns.
        let ingest = [("workflow", "whatsapp"), ("stage", "ingest"), UNOWNED];
        equals(p, catalogue::DEAD_LETTER_DEPTH.name, &ingest, 1.0)?;
        equals(
            p,
            catalogue::REVIEW_BACKLOG.name,
            &[RESERVATION, OWNER],
            1.0,
        )
    })
    .await?;
    assert!(page.sum(catalogue::REVIEW_BACKLOG_AGE.name, &[RESERVATION]) >= 0.0);
    let message = [("layer", "message")];
    assert_eq!(
        page.sum(catalogue::PREVENTED_DUPLICATES.name, &message),
        2.0
    );
    assert_eq!(
        page.sum(catalogue::PREVENTED_DUPLICATES.name, &[("layer", "ledger")]),
        0.0
    );
    let completed = [RESERVATION, ("outcome", "completed")];
    assert_eq!(
        page.sum(catalogue::EXECUTIONS_FINISHED.name, &completed),
        1.0
    );
    let clarified = [RESERVATION, ("outcome", "clarification_requested")];
    assert_eq!(
        page.sum(catalogue::EXECUTIONS_FINISHED.name, &clarified),
        1.0
    );
    let escalated = [("stage", "gate"), RESERVATION, ("reason", "confidence")];
    assert_eq!(page.sum(catalogue::ESCALATIONS.name, &escalated), 1.0);
    let retried = [
        ("stage", "execute"),
        RESERVATION,
        ("integration", "create_booking"),
    ];
    assert_eq!(page.sum(catalogue::RETRIES.name, &retried), 1.0);
    let dead = [
        ("workflow", "whatsapp"),
        ("stage", "ingest"),
        ("class", "permanent"),
    ];
    assert_eq!(page.sum(catalogue::DEAD_LETTERS.name, &dead), 1.0);
    for (route, n) in [("auto", 1.0), ("review", 1.0), ("clarify", 1.0)] {
        let labels = [RESERVATION, ("route", route)];
        assert_eq!(
            page.sum(catalogue::GATE_DECISIONS.name, &labels),
            n,
            "{route}"
        );
    }
    for rule in ["confidence", "required"] {
        let labels = [RESERVATION, ("rule", rule)];
        assert_eq!(
            page.sum(catalogue::GUARDRAIL_ACTIVATIONS.name, &labels),
            1.0,
            "{rule}"
        );
    }
    let interpreted = [RESERVATION, ("backend", "rules")];
    assert_eq!(page.sum(catalogue::INTERPRETATIONS.name, &interpreted), 3.0);
    let histogram = |m: &catalogue::MetricDef, suffix: &str| format!("{}_{suffix}", m.name);
    assert_eq!(
        page.sum(&histogram(&catalogue::CONFIDENCE, "count"), &[RESERVATION]),
        3.0
    );
    // The deterministic backend is free: three executions at $0.
    let cost = &catalogue::EXECUTION_COST;
    assert_eq!(page.sum(&histogram(cost, "count"), &[RESERVATION]), 3.0);
    assert_eq!(page.sum(&histogram(cost, "sum"), &[RESERVATION]), 0.0);
    let no_party = [RESERVATION, ("field", "party_size")];
    assert_eq!(page.sum(catalogue::EMPTY_FIELDS.name, &no_party), 1.0);
    let resolved = histogram(&catalogue::TIME_TO_RESOLUTION, "count");
    assert_eq!(page.sum(&resolved, &completed), 1.0);
    let begins = histogram(&catalogue::LEDGER_RPC_DURATION, "count");
    assert!(page.sum(&begins, &[("method", "Begin"), ("code", "OK")]) >= 2.0);
    let consumer = format!("{prefix}-interpret-reservation");
    assert!(page.has(catalogue::CONSUMER_PENDING.name, &[("consumer", &consumer)]));

    // A person approves the unsure one with a correction: it completes.
    let items: Value = serde_json::from_str(&ok(&env.sluice(&["review", "list", "--json"]).await))?;
    let item = items["items"][0]["id"].to_string();
    ok(&env
        .sluice(&[
            "review",
            "approve",
            &item,
            "--reason",
            "called back",
            "--set",
            "party_size=2",
        ])
        .await);
    env.settles_in(&reviewed, "COMPLETED").await?;
    let page = scraped_until(&env, "the approval counted", |p| {
        equals(p, catalogue::EXECUTIONS_FINISHED.name, &completed, 2.0)?;
        equals(p, catalogue::REVIEW_BACKLOG.name, &[RESERVATION], 0.0)
    })
    .await?;
    let approved = [RESERVATION, ("decision", "approve")];
    assert_eq!(page.sum(catalogue::REVIEW_DECISIONS.name, &approved), 1.0);
    assert_eq!(
        page.sum(catalogue::MANUAL_CORRECTIONS.name, &[RESERVATION]),
        1.0
    );
    assert_eq!(page.sum(&resolved, &completed), 2.0);
    let done = [RESERVATION, ("action", "create_booking"), ("step", "done")];
    assert_eq!(page.sum(catalogue::EXECUTOR_ACTIONS.name, &done), 2.0);
    assert!(
        page.sum(
            catalogue::NOTIFICATIONS.name,
            &[RESERVATION, ("result", "sent")]
        ) >= 3.0
    );

    exported_as_declared(&page, &prefix);
    env.stop().await
}

/// Every `sluice_*` series is a catalogue metric of the declared type, help
/// and labels, and every metric the scenarios above exercise is there.
fn exported_as_declared(page: &Page, prefix: &str) {
    let mut present = BTreeSet::new();
    for sample in page
        .samples
        .iter()
        .filter(|s| s.name.starts_with("sluice_"))
    {
        let m = catalogue::find_series(&sample.name)
            .unwrap_or_else(|| panic!("{} is not in the catalogue", sample.name));
        let mut labels: BTreeSet<&str> = sample.labels.keys().map(String::as_str).collect();
        if m.kind == MetricKind::Histogram && sample.name.ends_with("_bucket") {
            assert!(labels.remove("le"), "{sample:?}");
        }
        let declared: BTreeSet<&str> = m.labels.iter().copied().collect();
        assert_eq!(labels, declared, "labels of {}", sample.name);
        assert_eq!(
            page.types.get(m.name).map(String::as_str),
            Some(m.kind.as_str()),
            "{}",
            m.name
        );
        assert_eq!(
            page.help.get(m.name).map(String::as_str),
            Some(m.help),
            "{}",
            m.name
        );
        present.insert(m.name);
    }
    // What these scenarios cannot exercise: a model backend (tokens, schema
    // failures), breakers, switches, overdue reviews and their escalations,
    // escalations by a reviewer, and the drift monitor.
    let not_exercised = [
        catalogue::MODEL_TOKENS.name,
        catalogue::SCHEMA_FAILURES.name,
        catalogue::DRIFT_RATE.name,
        catalogue::DRIFT_ALARM.name,
        catalogue::SPOT_CHECKS.name,
        catalogue::REVIEW_OVERDUE.name,
        catalogue::REVIEW_SLA_BREACHES.name,
        catalogue::REVIEW_ESCALATIONS.name,
        catalogue::ESCALATION_WEBHOOKS.name,
        catalogue::BREAKER_TRIPS.name,
        catalogue::BREAKER_UNAUDITED.name,
        catalogue::BREAKER_RATE.name,
        catalogue::BREAKER_STATE.name,
        catalogue::SWITCH_CANARIES.name,
    ];
    let missing: Vec<&str> = CATALOGUE
        .iter()
        .map(|m| m.name)
        .filter(|name| !present.contains(name) && !not_exercised.contains(name))
        .collect();
    assert!(
        missing.is_empty(),
        "not exported after the scenarios: {missing:?} (prefix {prefix})"
    );
}
