//! `sluice eval`: the real binary over the shipped reservation cases, with
//! the extractor and with the scripted fake model, and the ways it fails.
//!
//! A broken extractor is shown to fail the eval in `sluice-eval`'s own tests
//! (`crates/eval/tests/it/broken.rs`): a plug-in that resolves dates in UTC is
//! registered under the shipped extractor's name, which a test of the
//! binary cannot do without a test-only switch in the shipped code. Here,
//! `a_baseline_the_extractor_no_longer_reaches_fails` covers the same path
//! through the binary: the extractor's accuracy below its baseline.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cli::{sluice, stderr, stdout};

/// A private copy of `workflows/reservation` under `<tmp>/<token>/`; the
/// returned folder is the `--workflows` root.
fn workflow_copy() -> PathBuf {
    let root = std::env::temp_dir().join(format!("sluice-eval-{}", sluice_testkit::unique_token()));
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows/reservation");
    sluice_testkit::copy_dir(&shipped, &root.join("reservation")).unwrap();
    root
}

#[tokio::test]
async fn eval_passes_with_the_extractor() {
    let out = sluice(&["eval", "reservation"]).await;
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(text.contains("backend rules"), "{text}");
    assert!(text.contains("prompt v1 sha256 "), "{text}");
    assert!(
        text.contains("baseline workflows/reservation/eval/baseline.rules.json"),
        "{text}"
    );
    assert!(text.contains("ok: overall"), "{text}");
    for field in ["date", "time", "party_size", "name", "outcome", "overall"] {
        assert!(
            text.lines().any(|l| l.starts_with(field)),
            "{field}: {text}"
        );
    }
}

#[tokio::test]
async fn eval_passes_with_the_fake_model_and_reports_json() {
    let out = sluice(&["eval", "reservation", "--backend", "fake", "--json"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["backend"], "fake");
    assert_eq!(report["passed"], true);
    assert_eq!(report["prompt_version"], "v1");
    assert!(report["score"]["cases"].as_u64().unwrap() >= 40);
    // The fake answered through HTTP: every case used the model, not the fallback.
    let cases = report["cases"].as_array().unwrap();
    assert!(
        cases.iter().all(|c| c["fallback_reason"].is_null()),
        "{cases:?}"
    );
    assert!(cases.iter().any(|c| c["backend"] == "fake"));
}

#[tokio::test]
async fn a_changed_prompt_fails_with_the_fake_model() {
    let root = workflow_copy();
    let prompt = root.join("reservation/prompt.v1.md");
    let text = std::fs::read_to_string(&prompt).unwrap();
    let edited = text.replace("Never guess, never write null.", "Never guess.");
    assert_ne!(edited, text, "the prompt line to edit is gone");
    std::fs::write(&prompt, edited).unwrap();
    let workflows = root.display().to_string();
    // The copy's own fake-model.json and baseline.fake.json are the shipped ones.
    let args = [
        "eval",
        "reservation",
        "--workflows",
        &workflows,
        "--backend",
        "fake",
    ];
    let out = sluice(&args).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}\n{}", stdout(&out));
    assert!(
        err.starts_with("sluice: regression beyond 2.0 points against the baseline: overall "),
        "{err}"
    );
    assert!(
        err.contains("(the prompt changed since the baseline)"),
        "{err}"
    );
    assert!(stdout(&out).contains("newly failing since the baseline: "));
    std::fs::remove_dir_all(root).ok();
}

#[tokio::test]
async fn a_baseline_the_extractor_no_longer_reaches_fails() {
    let root = workflow_copy();
    let path = root.join("reservation/eval/baseline.rules.json");
    let mut baseline: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    baseline["fields"]["date"] = 1.0.into();
    baseline["overall"] = 1.0.into();
    std::fs::write(&path, baseline.to_string()).unwrap();
    let workflows = root.display().to_string();
    let out = sluice(&["eval", "reservation", "--workflows", &workflows]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("overall 100.0% → 97.0%"), "{err}");
    assert!(
        !err.contains("date "),
        "date dropped 1.5 points, within 2: {err}"
    );
    assert!(!err.contains("prompt changed"), "{err}");
    let strict = [
        "eval",
        "reservation",
        "--workflows",
        &workflows,
        "--max-regression",
        "0.01",
    ];
    let err = stderr(&sluice(&strict).await);
    assert!(err.contains("date 100.0% → 98.5%"), "{err}");
    // A looser threshold accepts the same run.
    let out = sluice(&[
        "eval",
        "reservation",
        "--workflows",
        &workflows,
        "--max-regression",
        "0.05",
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::remove_dir_all(root).ok();
}

#[tokio::test]
async fn a_malformed_case_names_its_file_and_line() {
    let root = workflow_copy();
    let file = root.join("reservation/eval/party.jsonl");
    let mut text = std::fs::read_to_string(&file).unwrap();
    let line = text.lines().count() + 1;
    text.push_str("{\"id\": \"half a case\"\n");
    std::fs::write(&file, text).unwrap();
    let workflows = root.display().to_string();
    let out = sluice(&["eval", "reservation", "--workflows", &workflows]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("party.jsonl:{line}: ")), "{err}");
    std::fs::remove_dir_all(root).ok();
}

#[tokio::test]
async fn missing_workflows_and_unreachable_models_have_their_exit_codes() {
    let out = sluice(&["eval", "no-such-workflow"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("no workflow \"no-such-workflow\""));
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/v1");
    let out = sluice(&[
        "eval",
        "reservation",
        "--backend",
        "openai",
        "--model-url",
        &url,
    ])
    .await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains(&format!("cannot reach the model at {url}")),
        "{err}"
    );
    let out = sluice(&["eval", "reservation", "--backend", "openai"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[tokio::test]
async fn a_fake_script_and_a_baseline_can_be_regenerated() {
    let root = workflow_copy();
    let eval = root.join("reservation/eval");
    std::fs::remove_file(eval.join("fake-model.json")).unwrap();
    std::fs::remove_file(eval.join("baseline.fake.json")).unwrap();
    let workflows = root.display().to_string();
    let script = eval.join("fake-model.json").display().to_string();
    let out = sluice(&[
        "eval",
        "reservation",
        "--workflows",
        &workflows,
        "--write-fake-script",
        &script,
    ])
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../workflows/reservation/eval/fake-model.json");
    let read =
        |p: &Path| serde_json::from_str::<Value>(&std::fs::read_to_string(p).unwrap()).unwrap();
    assert_eq!(
        read(&eval.join("fake-model.json"))["answers"],
        read(&shipped)["answers"],
        "the shipped script is stale: regenerate it"
    );
    let fake = [
        "eval",
        "reservation",
        "--workflows",
        &workflows,
        "--backend",
        "fake",
        "--fake-script",
        &script,
    ];
    let out = sluice(&[&fake[..], &["--save-baseline"]].concat()).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("no baseline at "));
    let saved = read(&eval.join("baseline.fake.json"));
    assert_eq!(saved["backend"], "fake");
    let out = sluice(&fake).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("+0.0"));
    std::fs::remove_dir_all(root).ok();
}
