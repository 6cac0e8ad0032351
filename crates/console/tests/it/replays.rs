//! Replays from the console: previewed, refused without the typed
//! confirmation, and once confirmed one copy per entry to the original
//! subject, followed on the progress page; running the batch again sends
//! nothing new.

use std::time::Duration;

use reqwest::StatusCode;
use sluice_core::subjects::StreamKind;
use sluice_core::{Stage, headers};
use sluice_ledger::DeadLetterStatus;
use sluice_testkit::eventually::{check, eventually};

use crate::dead_letters::{EXECUTE, Failure, entry, hidden, link, record, stored};
use crate::harness::{Console, SRE, csrf, location};

#[tokio::test]
async fn a_confirmed_replay_publishes_each_entry_once() -> anyhow::Result<()> {
    let console = Console::start().await?;
    let bus = console.provision().await?;
    let entries = [
        record(&console, &EXECUTE, 1).await?,
        record(&console, &EXECUTE, 2).await?,
    ];
    let other = Failure {
        stage: Stage::Gate,
        ..EXECUTE
    };
    let elsewhere = record(&console, &other, 3).await?;
    let sre = console.sign_in(SRE).await?;

    // The preview lists exactly the filtered entries and what they would
    // be sent as.
    let list = console.page("/dead-letters?stage=execute", &sre).await?;
    let token = csrf(&list)?;
    let form = [
        ("csrf", token.as_str()),
        ("stage", "execute"),
        ("status", "open"),
    ];
    let resp = console
        .post("/dead-letters/replays/preview", Some(&sre), &form)
        .await?;
    assert_eq!(resp.status(), StatusCode::OK);
    let preview = resp.text().await?;
    let msg_ids: Vec<String> = entries
        .iter()
        .map(|d| format!("{}:execute:replay:1", d.execution_id.unwrap_or_default()))
        .collect();
    for (d, msg_id) in entries.iter().zip(&msg_ids) {
        assert!(preview.contains(&link(d.id)), "{preview}");
        assert!(preview.contains(msg_id.as_str()), "{preview}");
        assert!(preview.contains(&d.subject), "{preview}");
    }
    assert!(!preview.contains(&link(elsewhere.id)), "{preview}");
    assert!(
        preview.contains("What would be sent: 2 messages"),
        "{preview}"
    );
    assert!(preview.contains("<code>replay 2</code>"), "{preview}");
    let ids = hidden(&preview, "ids")?;
    let batch = hidden(&preview, "batch")?;
    let expected: Vec<String> = entries.iter().map(|d| d.id.to_string()).collect();
    let mut listed: Vec<&str> = ids.split(',').collect();
    listed.sort_unstable();
    assert_eq!(
        listed,
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );

    // A wrong or missing confirmation sends nothing.
    for typed in ["replay 3", ""] {
        let form = [
            ("csrf", token.as_str()),
            ("ids", ids.as_str()),
            ("batch", batch.as_str()),
            ("reason", "booking service is back"),
            ("confirm", typed),
        ];
        let resp = console
            .post("/dead-letters/replays", Some(&sre), &form)
            .await?;
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{typed:?}");
        let page = resp.text().await?;
        assert!(
            page.contains(r#"id="replay-confirm-error" class="error" role="alert""#),
            "{page}"
        );
        assert!(
            page.contains("booking service is back"),
            "the reason is kept"
        );
    }
    for d in &entries {
        assert_eq!(entry(&console, d.id).await?.replay_count, 0);
    }
    assert_eq!(stored(&console).await?, 0);

    // Confirmed: one copy per entry, under the replay generation.
    let form = [
        ("csrf", token.as_str()),
        ("ids", ids.as_str()),
        ("batch", batch.as_str()),
        ("reason", "booking service is back"),
        ("confirm", "Replay 2"),
    ];
    let progress = format!("/dead-letters/replays/{batch}");
    let resp = console
        .post("/dead-letters/replays", Some(&sre), &form)
        .await?;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&resp), Some(progress.as_str()));
    let done = finished(&console, &progress, &sre).await?;
    assert!(!done.contains(r#"http-equiv="refresh""#), "{done}");
    assert_eq!(done.matches("<td>published</td>").count(), 2, "{done}");
    assert_eq!(stored(&console).await?, 2);
    let pipeline = console.nats.subjects.stream(StreamKind::Pipeline);
    let stream = bus.jetstream().get_stream(&pipeline).await?;
    for (d, msg_id) in entries.iter().zip(&msg_ids) {
        let since = d.created_at - chrono::Duration::seconds(5);
        let sequence = sluice_bus::find_by_msg_id(bus.jetstream(), &d.subject, msg_id, since)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no copy of {} as {msg_id}", d.id))?;
        let copy = stream.get_raw_message(sequence).await?;
        assert_eq!(copy.subject.as_str(), d.subject);
        assert_eq!(copy.payload.as_ref(), d.payload.as_slice());
        let header = |name| copy.headers.get(name).map(|v| v.as_str().to_owned());
        assert_eq!(header(headers::GENERATION).as_deref(), Some("replay:1"));
        assert_eq!(
            header(headers::CORRELATION_ID).as_deref(),
            Some("corr-execute")
        );
        let now = entry(&console, d.id).await?;
        assert_eq!(
            (now.status, now.replay_count),
            (DeadLetterStatus::Replayed, 1)
        );
    }
    assert_eq!(entry(&console, elsewhere.id).await?.replay_count, 0);

    // The same batch again (a resubmitted form) sends nothing new.
    let resp = console
        .post("/dead-letters/replays", Some(&sre), &form)
        .await?;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let again = eventually("the repeat is done", Duration::from_secs(20), || async {
        let page = finished(&console, &progress, &sre).await?;
        check(!page.contains("<td>published</td>"), || page.clone())?;
        Ok(page)
    })
    .await?;
    assert_eq!(
        again.matches("skipped: published earlier").count(),
        2,
        "{again}"
    );
    assert_eq!(stored(&console).await?, 2);
    for d in &entries {
        assert_eq!(entry(&console, d.id).await?.replay_count, 1);
    }
    console.nats.cleanup().await?;
    Ok(())
}

/// Waits for the progress page at `path` to say the replay is done.
async fn finished(console: &Console, path: &str, cookie: &str) -> anyhow::Result<String> {
    eventually("the replay is done", Duration::from_secs(20), || async {
        let page = console.page(path, cookie).await?;
        check(page.contains("<strong>Done.</strong>"), || page.clone())?;
        Ok(page)
    })
    .await
}

#[tokio::test]
async fn a_paced_replay_shows_its_progress_while_it_runs() -> anyhow::Result<()> {
    let console = Console::start().await?;
    console.provision().await?;
    let first = record(&console, &EXECUTE, 1).await?;
    let second = record(&console, &EXECUTE, 2).await?;
    let sre = console.sign_in(SRE).await?;
    let page = console
        .page(&format!("/dead-letters/{}", first.id), &sre)
        .await?;
    let token = csrf(&page)?;
    let ids = format!("{},{}", first.id, second.id);
    let form = [("csrf", token.as_str()), ("ids", ids.as_str())];
    let preview = console
        .post("/dead-letters/replays/preview", Some(&sre), &form)
        .await?
        .text()
        .await?;
    let batch = hidden(&preview, "batch")?;
    let confirm = |rps: &'static str| {
        [
            ("csrf", token.as_str()),
            ("ids", ids.as_str()),
            ("batch", batch.as_str()),
            ("reason", "paced"),
            ("rps", rps),
            ("confirm", "replay 2"),
        ]
    };

    // Pacing must be a rate above 0.
    let resp = console
        .post("/dead-letters/replays", Some(&sre), &confirm("0"))
        .await?;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = resp.text().await?;
    assert!(page.contains(r#"id="replay-rps-error""#), "{page}");
    assert_eq!(stored(&console).await?, 0);

    // Half a message a second: the second entry waits two seconds, so the
    // page first shows the replay running and reloading itself.
    let resp = console
        .post("/dead-letters/replays", Some(&sre), &confirm("0.5"))
        .await?;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let progress = location(&resp).unwrap_or_default().to_owned();
    let running = console.page(&progress, &sre).await?;
    assert!(
        running.contains(r#"<meta http-equiv="refresh" content="2">"#),
        "{running}"
    );
    assert!(running.contains("<strong>Running.</strong>"), "{running}");
    assert!(running.contains("<td>waiting</td>"), "{running}");
    let done = finished(&console, &progress, &sre).await?;
    assert_eq!(done.matches("<td>published</td>").count(), 2, "{done}");
    assert_eq!(stored(&console).await?, 2);
    console.nats.cleanup().await?;
    Ok(())
}
