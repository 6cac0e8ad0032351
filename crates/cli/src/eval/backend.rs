//! Which backend answers an eval's cases, and recording its answers as a
//! fake model script.

use std::path::Path;

use sluice_eval::{BackendChoice, EvalWorkflow, ModelChoice, Report};
use sluice_interpreter::{ApiKey, ModelOptions};
use sluice_testkit::fake_model::FakeModel;
use sluice_testkit::fake_script::{FakeScript, ScriptedAnswer, ScriptedEntry};

use super::{BackendKind, RunArgs};
use crate::error::CliError;

/// The primary backend, and the fake model serving it for `fake`.
pub(super) async fn backend(
    kind: BackendKind,
    args: &RunArgs,
    dir: &Path,
    env: &[(String, String)],
) -> anyhow::Result<(BackendChoice, Option<FakeModel>)> {
    let model = |name: &str, base_url: String, default_model: &str, api_key| {
        BackendChoice::Model(Box::new(ModelChoice {
            name: name.to_owned(),
            options: ModelOptions {
                base_url,
                model: default_model.to_owned(),
                ..ModelOptions::default()
            },
            api_key,
            model: args.model.clone(),
        }))
    };
    match kind {
        BackendKind::Rules => Ok((BackendChoice::Rules, None)),
        BackendKind::Openai => {
            let url = args.model_url.clone().ok_or_else(|| {
                CliError::Usage(
                    "--backend openai needs --model-url (or pass --backend rules or fake)".into(),
                )
            })?;
            let api_key = match &args.api_key_env {
                Some(var) => {
                    let key = env.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone());
                    let key = key.ok_or_else(|| {
                        CliError::Usage(format!("--api-key-env: {var} is not set"))
                    })?;
                    Some(ApiKey::new(key))
                }
                None => None,
            };
            let defaults = ModelOptions::default();
            Ok((model("openai", url, &defaults.model, api_key), None))
        }
        BackendKind::Fake => {
            let path = args
                .fake_script
                .clone()
                .unwrap_or_else(|| dir.join("eval").join("fake-model.json"));
            let script = FakeScript::load(&path).map_err(|e| CliError::Usage(format!("{e:#}")))?;
            let fake = FakeModel::start_scripted(&script).await?;
            Ok((model("fake", fake.url(), "scripted", None), Some(fake)))
        }
    }
}

/// Writes the primary backend's first answer to every case under the hash
/// of its rendered prompt; any other prompt gets an answer that validates
/// but reads nothing, so a changed prompt cannot hide behind the fallback.
/// The feedback cases' answers are kept too, so `--backend fake` replays
/// them as well.
pub(super) fn write_fake_script(
    workflow: &EvalWorkflow,
    report: &Report,
    feedback: Option<&Report>,
    cases: &[sluice_eval::Case],
    path: &Path,
    name: &str,
) -> anyhow::Result<()> {
    let mut answers: Vec<ScriptedEntry> = Vec::new();
    let feedback_cases = feedback.into_iter().flat_map(|f| &f.cases);
    for case in report.cases.iter().chain(feedback_cases) {
        let (Some(hash), Some(answer)) = (&case.prompt_sha256, &case.answer) else {
            continue;
        };
        if answers.iter().any(|a| &a.prompt_sha256 == hash) {
            continue;
        }
        let answer = serde_json::from_str(answer).map_or_else(
            |_| ScriptedAnswer::Content(answer.clone()),
            ScriptedAnswer::Json,
        );
        answers.push(ScriptedEntry {
            case: Some(case.id.clone()),
            prompt_sha256: hash.clone(),
            answer,
        });
    }
    let default = cases
        .first()
        .map(|c| workflow.empty_answer(c))
        .unwrap_or_default();
    let script = FakeScript {
        description: format!(
            "The {backend} backend's answers to the {name} eval cases, keyed by the SHA-256 of each \
             rendered prompt (prompt {version}, template sha256 {sha}). Any other prompt gets the \
             default: a valid contract that reads nothing, so a changed prompt shows as a regression. \
             Regenerate: sluice eval {name} --backend {backend} --write-fake-script {path}",
            backend = report.backend,
            version = report.prompt_version,
            sha = report.prompt_sha256,
            path = path.display(),
        ),
        default: ScriptedAnswer::Json(default),
        answers,
    };
    script
        .save(path)
        .map_err(|e| CliError::Failed(format!("{e:#}")).into())
}
