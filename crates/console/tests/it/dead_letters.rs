//! Dead letters: only the sre and admin roles see or change them; the list
//! filters; an entry shows its payload as text; a discard needs a reason.
//! The helpers here index dead letters for the replay tests too.

use reqwest::StatusCode;
use sluice_core::subjects::StreamKind;
use sluice_core::{ExecutionId, FailureClass, Stage, headers};
use sluice_ledger::{DeadLetter, DeadLetterStatus, Headers, NewDeadLetter};

use crate::harness::{ADMIN, Console, REVIEWER, SRE, csrf, location};

/// Which dead letter to index.
pub struct Failure<'a> {
    pub stage: Stage,
    pub workflow: &'a str,
    pub class: FailureClass,
    pub reason: &'a str,
    pub correlation: &'a str,
}

pub const EXECUTE: Failure<'static> = Failure {
    stage: Stage::Execute,
    workflow: "reservation",
    class: FailureClass::Permanent,
    reason: "booking service refused the request",
    correlation: "corr-execute",
};

/// Indexes a dead letter of a new execution, as the dead-letter service
/// would, with the original headers a stage message carries.
pub async fn record(
    console: &Console,
    f: &Failure<'_>,
    sequence: u64,
) -> anyhow::Result<DeadLetter> {
    let execution = ExecutionId::derive("whatsapp", &sluice_testkit::unique_token(), f.workflow);
    let subject = console.nats.subjects.stage(f.stage, f.workflow)?;
    let mut original = Headers::new();
    let old_id = format!("{execution}:{}:0", f.stage.as_str());
    original.insert(headers::MSG_ID.into(), vec![old_id]);
    original.insert(headers::GENERATION.into(), vec!["0".into()]);
    original.insert(headers::CORRELATION_ID.into(), vec![f.correlation.into()]);
    let new = NewDeadLetter {
        stream: console.nats.subjects.stream(StreamKind::Pipeline),
        stream_sequence: sequence,
        stage: f.stage.as_str().into(),
        workflow: f.workflow.into(),
        execution_id: Some(execution),
        correlation_id: f.correlation.into(),
        failure_class: f.class,
        reason: f.reason.into(),
        error_detail: None,
        attempts: 1,
        first_failed_at: None,
        last_failed_at: None,
        subject,
        headers: original,
        payload: format!(r#"{{"execution":"{execution}","note":"<b>bold</b>"}}"#).into_bytes(),
        dlq_stream: String::new(),
        dlq_sequence: 0,
    };
    Ok(console
        .ledger
        .client
        .record_dead_letter(&new)
        .await?
        .dead_letter)
}

/// The entry as the ledger has it now (read by an admin).
pub async fn entry(console: &Console, id: i64) -> anyhow::Result<DeadLetter> {
    let admin = console.ledger.client(Some(ADMIN))?;
    Ok(admin.get_dead_letter(id).await?.0)
}

/// How many messages the pipeline stream holds.
pub async fn stored(console: &Console) -> anyhow::Result<u64> {
    let name = console.nats.subjects.stream(StreamKind::Pipeline);
    let mut stream = console.nats.jetstream.get_stream(&name).await?;
    Ok(stream.info().await?.state.messages)
}

/// The value of the hidden field `name` on a page.
pub fn hidden(page: &str, name: &str) -> anyhow::Result<String> {
    let marker = format!(r#"name="{name}" value=""#);
    let start = page
        .find(&marker)
        .ok_or_else(|| anyhow::anyhow!("no {name} field on the page"))?
        + marker.len();
    let len = page[start..].find('"').unwrap_or_default();
    Ok(page[start..start + len].to_owned())
}

pub fn link(id: i64) -> String {
    format!(r#"href="/dead-letters/{id}""#)
}

#[tokio::test]
async fn a_reviewer_is_refused_and_offered_no_replay() -> anyhow::Result<()> {
    let console = Console::start().await?;
    let d = record(&console, &EXECUTE, 1).await?;
    let reviewer = console.sign_in(REVIEWER).await?;
    let queue = console.page("/reviews", &reviewer).await?;
    assert!(!queue.contains(r#"href="/dead-letters""#), "no nav link");
    let token = csrf(&queue)?;

    let list = console.get("/dead-letters", Some(&reviewer)).await?;
    assert_eq!(list.status(), StatusCode::FORBIDDEN);
    let text = list.text().await?;
    assert!(text.contains("only the sre and admin roles"), "{text}");

    let path = format!("/dead-letters/{}", d.id);
    let page = console.get(&path, Some(&reviewer)).await?;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let page = page.text().await?;
    assert!(!page.contains("/dead-letters/replays"), "{page}");
    assert!(!page.contains("Discard"), "{page}");

    let id = d.id.to_string();
    let form = [("csrf", token.as_str()), ("ids", id.as_str())];
    let resp = console
        .post("/dead-letters/replays/preview", Some(&reviewer), &form)
        .await?;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let form = [
        ("csrf", token.as_str()),
        ("ids", id.as_str()),
        ("batch", "b1"),
        ("reason", "let me"),
        ("confirm", "replay 1"),
    ];
    let resp = console
        .post("/dead-letters/replays", Some(&reviewer), &form)
        .await?;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let form = [("csrf", token.as_str()), ("reason", "let me")];
    let resp = console
        .post(&format!("{path}/discard"), Some(&reviewer), &form)
        .await?;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let now = entry(&console, d.id).await?;
    assert_eq!((now.status, now.replay_count), (DeadLetterStatus::Open, 0));
    Ok(())
}

#[tokio::test]
async fn an_sre_lists_dead_letters_by_filter() -> anyhow::Result<()> {
    let console = Console::start().await?;
    let first = record(&console, &EXECUTE, 1).await?;
    let second = record(&console, &EXECUTE, 2).await?;
    let gate = Failure {
        stage: Stage::Gate,
        workflow: "crm",
        class: FailureClass::Temporary,
        reason: "timeout reading the allowlist",
        correlation: "corr-gate",
    };
    let third = record(&console, &gate, 3).await?;
    let sre = console.sign_in(SRE).await?;

    let shows = |page: &str, ids: &[i64]| {
        [first.id, second.id, third.id]
            .iter()
            .all(|id| page.contains(&link(*id)) == ids.contains(id))
    };
    let all = console.page("/dead-letters", &sre).await?;
    assert!(shows(&all, &[first.id, second.id, third.id]), "{all}");
    assert!(all.contains("3 dead letters, newest first"), "{all}");
    assert!(all.contains("timeout reading the allowlist"), "{all}");
    assert!(all.contains(r#"<label for="filter-stage">"#), "{all}");
    for (query, ids) in [
        ("?stage=gate", vec![third.id]),
        ("?workflow=reservation", vec![first.id, second.id]),
        ("?class=permanent", vec![first.id, second.id]),
        ("?contains=TIMEOUT", vec![third.id]),
        ("?correlation=corr-gate", vec![third.id]),
        ("?status=discarded", vec![]),
        ("?status=any&stage=execute", vec![first.id, second.id]),
    ] {
        let page = console.page(&format!("/dead-letters{query}"), &sre).await?;
        assert!(shows(&page, &ids), "{query}: {page}");
    }
    let bad = console.get("/dead-letters?class=odd", Some(&sre)).await?;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    // The entry: the payload as escaped text, the headers, both forms.
    let page = console
        .page(&format!("/dead-letters/{}", first.id), &sre)
        .await?;
    assert!(page.contains("&lt;b&gt;bold&lt;/b&gt;"), "{page}");
    assert!(!page.contains("<b>bold</b>"), "{page}");
    assert!(page.contains("corr-execute"), "{page}");
    assert!(page.contains(r#"action="/dead-letters/replays/preview""#));
    assert!(page.contains(r#"<label for="discard-reason">"#));
    Ok(())
}

#[tokio::test]
async fn a_discard_needs_a_reason_and_is_shown() -> anyhow::Result<()> {
    let console = Console::start().await?;
    let d = record(&console, &EXECUTE, 1).await?;
    let sre = console.sign_in(SRE).await?;
    let path = format!("/dead-letters/{}", d.id);
    let page = console.page(&path, &sre).await?;
    let token = csrf(&page)?;
    let discard = format!("{path}/discard");

    let resp = console
        .post(
            &discard,
            Some(&sre),
            &[("csrf", "forged"), ("reason", "junk")],
        )
        .await?;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = console
        .post(&discard, Some(&sre), &[("csrf", &token), ("reason", "  ")])
        .await?;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(entry(&console, d.id).await?.status, DeadLetterStatus::Open);

    let form = [("csrf", token.as_str()), ("reason", "test traffic")];
    let resp = console.post(&discard, Some(&sre), &form).await?;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), Some(path.as_str()));
    assert_eq!(
        entry(&console, d.id).await?.status,
        DeadLetterStatus::Discarded
    );
    let page = console.page(&path, &sre).await?;
    assert!(page.contains("<td>DISCARDED</td>"), "{page}");
    assert!(
        page.contains("dlq.discard") && page.contains("test traffic"),
        "{page}"
    );
    assert!(page.contains("bob (sre)"), "{page}");
    assert!(!page.contains("/dead-letters/replays/preview"), "{page}");

    // A discarded entry is left out of a replay preview.
    let id = d.id.to_string();
    let form = [("csrf", token.as_str()), ("ids", id.as_str())];
    let resp = console
        .post("/dead-letters/replays/preview", Some(&sre), &form)
        .await?;
    let preview = resp.text().await?;
    assert!(
        preview.contains("1 discarded entry is left out"),
        "{preview}"
    );
    assert!(preview.contains("Nothing to replay."), "{preview}");
    Ok(())
}
