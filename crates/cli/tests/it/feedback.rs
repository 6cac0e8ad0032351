//! Reviewers' decisions become eval cases: a party of forty approved as
//! twelve and another rejected through the real `sluice review` commands,
//! imported by `sluice eval import-feedback` as candidate cases the eval's
//! own parser reads, imported again to no effect, accepted, and scored by
//! `sluice eval` apart from the frozen cases and their baseline.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{Value, json};
use sluice_eval::case::{Origin, Outcome, parse_line};
use sluice_eval::feedback::Decision;
use sluice_eval::{Case, Expected};

use crate::cli::{ok, sluice, stderr, stdout};
use crate::stack::{Env, whatsapp, workflows_with};

const FORTY: &str = "A table for 40 tomorrow at nine, please.";
const ANOTHER_FORTY: &str = "Table for 40 tomorrow at 21:00 please";

/// Sends `text` and waits for its open review item; returns the execution
/// id and the item id.
async fn stopped(env: &Env, wamid: &str, text: &str) -> anyhow::Result<(String, String)> {
    let id = env
        .accepted(wamid, &whatsapp(wamid, "34600000009", text))
        .await?;
    env.settles_in(&id, "HUMAN_REVIEW_PENDING").await?;
    let listed = ok(&env
        .sluice(&["review", "list", "--status", "open", "--json"])
        .await);
    let listed: Value = serde_json::from_str(&listed)?;
    let item = listed["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["execution_id"] == id.as_str())
        .unwrap_or_else(|| panic!("no open item for {id}: {listed}"));
    Ok((id, item["id"].to_string()))
}

/// The cases of a JSON-lines file, read by the eval's own parser.
fn cases(path: &std::path::Path) -> Vec<Case> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let origin = Origin {
                file: path.display().to_string(),
                line: i + 1,
            };
            parse_line(line, origin).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

/// The ingest-side receipt time of execution `id`, and the case's frozen
/// time: the same instant (give or take the ledger's own clock, which
/// stamps the execution row), written in Madrid's offset.
async fn frozen_at_receipt(env: &Env, id: &str, case: &Case) -> anyhow::Result<()> {
    let received: DateTime<Utc> = env.execution(id).await?["received_at"]
        .as_str()
        .unwrap_or_default()
        .parse()?;
    let apart = (case.now.with_timezone(&Utc) - received)
        .num_milliseconds()
        .abs();
    assert!(apart < 2_000, "now {} vs received {received}", case.now);
    let madrid: chrono_tz::Tz = "Europe/Madrid".parse()?;
    let offset: FixedOffset = received.with_timezone(&madrid).fixed_offset().timezone();
    assert_eq!(*case.now.offset(), offset);
    Ok(())
}

#[tokio::test]
async fn reviews_become_cases_that_eval_scores_apart_from_the_baseline() -> anyhow::Result<()> {
    let env = Env::start(Duration::from_secs(60)).await?;
    let (corrected_id, corrected) = stopped(&env, "wamid.fb-twelve", FORTY).await?;
    let approve = [
        "review",
        "approve",
        &corrected,
        "--reason",
        "they called: twelve",
        "--set",
        "party_size=12",
    ];
    ok(&env.sluice(&approve).await);
    env.settles_in(&corrected_id, "COMPLETED").await?;
    let (rejected_id, rejected) = stopped(&env, "wamid.fb-no", ANOTHER_FORTY).await?;
    ok(&env
        .sluice(&[
            "review",
            "reject",
            &rejected,
            "--reason",
            "no group bookings",
        ])
        .await);
    env.settles_in(&rejected_id, "CLOSED").await?;

    // Import into a file of its own: two valid cases.
    let tmp = std::env::temp_dir().join(format!("sluice-fb-{}", sluice_testkit::unique_token()));
    std::fs::create_dir_all(&tmp)?;
    let out = tmp.join("pending.jsonl");
    let out_arg = out.display().to_string();
    let import = [
        "eval",
        "import-feedback",
        "reservation",
        "--out",
        &out_arg,
        "--json",
    ];
    let first: Value = serde_json::from_str(&ok(&env.sluice(&import).await))?;
    let (a, b) = (
        format!("feedback-{corrected}"),
        format!("feedback-{rejected}"),
    );
    assert_eq!(first["written"], json!([a, b]), "{first}");
    let written = cases(&out);
    assert_eq!(written.len(), 2);

    let case = &written[0];
    assert_eq!(case.id, a);
    assert_eq!(case.payload["text"], FORTY);
    assert_eq!(case.timezone, "Europe/Madrid");
    frozen_at_receipt(&env, &corrected_id, case).await?;
    let want = case.expected.contract.clone().unwrap_or_default();
    assert_eq!(want["party_size"], 12, "{want:?}");
    assert_eq!(want["name"], "Ana", "{want:?}");
    assert!(
        !want.contains_key("sender"),
        "copied from the payload: {want:?}"
    );
    assert_eq!(case.expected.outcome, None);
    let feedback = case.feedback.clone().unwrap();
    assert_eq!(feedback.decision, Decision::Approved);
    assert_eq!(feedback.reason, "they called: twelve");
    assert_eq!(feedback.corrections["party_size"], 12);
    assert_eq!(feedback.model_output.unwrap().contract["party_size"], 40);
    assert!(!feedback.decided_by.is_empty());

    let case = &written[1];
    assert_eq!(case.id, b);
    assert_eq!(case.payload["text"], ANOTHER_FORTY);
    frozen_at_receipt(&env, &rejected_id, case).await?;
    let expected = Expected {
        outcome: Some(Outcome::NotAuto),
        ..Expected::default()
    };
    assert_eq!(case.expected, expected);
    assert_eq!(case.feedback.as_ref().unwrap().decision, Decision::Rejected);

    // Again: nothing new.
    let again: Value = serde_json::from_str(&ok(&env.sluice(&import).await))?;
    assert_eq!(again["written"], json!([]), "{again}");
    assert_eq!(again["already"], json!([a, b]), "{again}");
    assert_eq!(cases(&out).len(), 2);

    // Into a copy of the workflows: pending, accepted, then known there too.
    let workflows = workflows_with(|toml| toml)?;
    let copy = workflows.display().to_string();
    let into_copy = [
        "eval",
        "import-feedback",
        "reservation",
        "--workflows",
        &copy,
    ];
    let text = ok(&env.sluice(&into_copy).await);
    assert!(text.contains("wrote 2 candidate case(s)"), "{text}");
    assert!(
        text.contains("Check every candidate before accepting it"),
        "{text}"
    );
    let accepting = |ids: &[&str]| {
        let mut args = vec![
            "eval",
            "accept-feedback",
            "reservation",
            "--workflows",
            &copy,
        ];
        args.extend_from_slice(ids);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    // An id that is not pending: not found, and nothing moves.
    let refused = crate::cli::run(accepting(&[&a, "feedback-999"]), Vec::new()).await;
    assert_eq!(refused.status.code(), Some(3), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("feedback-999"));
    let eval_dir = workflows.join("reservation/eval");
    assert!(!eval_dir.join("feedback.jsonl").exists());
    ok(&crate::cli::run(accepting(&[&a, &b]), Vec::new()).await);
    assert_eq!(cases(&eval_dir.join("feedback.jsonl")).len(), 2);
    assert!(cases(&eval_dir.join("pending-feedback.jsonl")).is_empty());
    let text = ok(&env.sluice(&into_copy).await);
    assert!(text.contains("wrote 0 candidate case(s)"), "{text}");
    assert!(text.contains("2 already pending or accepted"), "{text}");
    scored_apart(&copy).await;

    env.stop().await?;
    std::fs::remove_dir_all(&workflows)?;
    std::fs::remove_dir_all(&tmp)?;
    Ok(())
}

/// `sluice eval` over the copy with both cases accepted: the frozen cases
/// pass their baseline as before; the feedback cases have their own score.
async fn scored_apart(workflows: &str) {
    let shipped: Value =
        serde_json::from_str(&ok(&sluice(&["eval", "reservation", "--json"]).await)).unwrap();
    assert_eq!(shipped["feedback"], Value::Null);
    let run = sluice(&["eval", "reservation", "--workflows", workflows, "--json"]).await;
    assert!(run.status.success(), "{}", stderr(&run));
    let report: Value = serde_json::from_str(&stdout(&run)).unwrap();
    assert_eq!(report["passed"], true);
    assert_eq!(
        report["score"], shipped["score"],
        "frozen cases score as before"
    );
    let feedback = &report["feedback"];
    assert_eq!(feedback["in_baseline"], false);
    assert_eq!(feedback["score"]["cases"], 2, "{feedback}");
    // The extractor still reads forty where the reviewer booked twelve; the
    // rejected request still goes to a person.
    assert_eq!(feedback["score"]["passed"], 1, "{feedback}");
    assert_eq!(feedback["score"]["fields"]["party_size"]["correct"], 0);
    assert_eq!(feedback["score"]["fields"]["outcome"]["correct"], 1);
    let ids: Vec<&str> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(!ids.iter().any(|id| id.starts_with("feedback-")), "{ids:?}");

    let text = ok(&sluice(&["eval", "reservation", "--workflows", workflows]).await);
    assert!(
        text.contains("feedback from reviews: 2 accepted case(s) in "),
        "{text}"
    );
    assert!(text.contains("failing feedback cases: 1"), "{text}");
    assert!(text.contains("party_size: expected 12, got 40"), "{text}");
    assert!(text.contains("ok: overall"), "{text}");
}
