//! `sluice eval <workflow>`: the workflow's frozen cases through a backend,
//! scored field by field and judged against the last saved baseline.
//!
//! The engine is `sluice-eval`; this module picks the backend (starting the
//! scripted fake model in-process for `--backend fake`), prints, writes the
//! baseline or a fake script when asked, and turns a regression into exit 1.

mod print;

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use sluice_core::WorkflowSpec;
use sluice_eval::{BackendChoice, Baseline, EvalWorkflow, ModelChoice, Report, Thresholds};
use sluice_interpreter::{ApiKey, ModelOptions, Registry};
use sluice_testkit::fake_model::FakeModel;
use sluice_testkit::fake_script::FakeScript;

use crate::error::CliError;

/// Arguments of `sluice eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The workflow whose `eval/*.jsonl` cases to run.
    pub workflow: String,
    /// The folder of declared workflows (`<dir>/<name>/workflow.toml`).
    #[arg(long, default_value = "workflows")]
    pub workflows: PathBuf,
    /// Who answers first [default: the workflow's own backend]. The
    /// workflow's extractor stays the fallback of a model, as in the service.
    #[arg(long, value_enum)]
    pub backend: Option<BackendKind>,
    /// `--backend openai`: the OpenAI-compatible base URL (`…/v1`).
    #[arg(long)]
    pub model_url: Option<String>,
    /// The model to ask [default: the workflow's `interpret.model`].
    #[arg(long)]
    pub model: Option<String>,
    /// `--backend openai`: the environment variable holding the API key.
    #[arg(long)]
    pub api_key_env: Option<String>,
    /// `--backend fake`: the script of prompt hashes and answers
    /// [default: <workflow>/eval/fake-model.json].
    #[arg(long)]
    pub fake_script: Option<PathBuf>,
    /// Also write the primary backend's answers as a fake model script,
    /// keyed by the hash of each rendered prompt.
    #[arg(long)]
    pub write_fake_script: Option<PathBuf>,
    /// The baseline file [default: <workflow>/eval/baseline.<backend>.json].
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Save this run as the baseline (after printing the deltas).
    #[arg(long)]
    pub save_baseline: bool,
    /// Fail when overall or any field's accuracy drops more than this below
    /// the baseline (0.02 = two points).
    #[arg(long, default_value_t = 0.02)]
    pub max_regression: f64,
    /// Fail when overall accuracy is below this (with or without a baseline).
    #[arg(long)]
    pub min_accuracy: Option<f64>,
}

/// The backends `sluice eval` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// The workflow's deterministic extractor.
    Rules,
    /// An OpenAI-compatible chat-completions endpoint (`--model-url`).
    Openai,
    /// The scripted fake model, started in-process (`--fake-script`).
    Fake,
}

impl BackendKind {
    fn name(self) -> &'static str {
        match self {
            BackendKind::Rules => "rules",
            BackendKind::Openai => "openai",
            BackendKind::Fake => "fake",
        }
    }
}

/// Runs `sluice eval`; `env` resolves `--api-key-env`.
pub async fn run(
    args: EvalArgs,
    env: &[(String, String)],
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    for (flag, value) in [
        ("--max-regression", Some(args.max_regression)),
        ("--min-accuracy", args.min_accuracy),
    ] {
        if value.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
            return Err(CliError::Usage(format!("{flag} must be between 0 and 1")).into());
        }
    }
    let dir = args.workflows.join(&args.workflow);
    if !dir.join("workflow.toml").is_file() {
        let msg = format!(
            "no workflow {:?}: {} does not exist",
            args.workflow,
            dir.join("workflow.toml").display()
        );
        return Err(CliError::NotFound(msg).into());
    }
    let spec = WorkflowSpec::load(&dir).map_err(usage)?;
    let kind = args
        .backend
        .unwrap_or(match spec.interpret.backend.as_str() {
            "rules" => BackendKind::Rules,
            "fake" => BackendKind::Fake,
            _ => BackendKind::Openai,
        });
    let cases = sluice_eval::load_cases(&dir.join("eval")).map_err(usage)?;
    let (choice, fake) = backend(kind, &args, &dir, env).await?;
    let workflow =
        EvalWorkflow::load(&dir, choice, &Registry::with_builtin()).map_err(eval_error)?;
    let report = workflow.run(&cases).await.map_err(eval_error);
    if let Some(fake) = fake {
        fake.stop();
    }
    let report = report?;
    let score = report.score();
    let baseline_path = args.baseline.clone().unwrap_or_else(|| {
        dir.join("eval")
            .join(format!("baseline.{}.json", kind.name()))
    });
    let baseline = Baseline::load(&baseline_path).map_err(usage)?;
    let thresholds = Thresholds {
        max_regression: args.max_regression,
        min_accuracy: args.min_accuracy,
    };
    let judgement = sluice_eval::judge(&report, &score, baseline.as_ref(), thresholds);
    let view = print::View {
        report: &report,
        score: &score,
        baseline: baseline.as_ref(),
        baseline_path: &baseline_path,
        judgement: &judgement,
        thresholds,
    };
    if json {
        writeln!(out, "{}", view.json())?;
    } else {
        view.human(out)?;
    }
    if let Some(path) = &args.write_fake_script {
        write_fake_script(&workflow, &report, &cases, path, &args.workflow)?;
        if !json {
            writeln!(out, "wrote the fake model script {}", path.display())?;
        }
    }
    if args.save_baseline {
        Baseline::of(&report, &score)
            .save(&baseline_path)
            .map_err(usage)?;
        if !json {
            writeln!(out, "saved the baseline {}", baseline_path.display())?;
        }
        return Ok(());
    }
    if !judgement.failures.is_empty() {
        return Err(CliError::Failed(judgement.failures.join("; ")).into());
    }
    Ok(())
}

/// The primary backend, and the fake model serving it for `fake`.
async fn backend(
    kind: BackendKind,
    args: &EvalArgs,
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
fn write_fake_script(
    workflow: &EvalWorkflow,
    report: &Report,
    cases: &[sluice_eval::Case],
    path: &Path,
    name: &str,
) -> anyhow::Result<()> {
    use sluice_testkit::fake_script::{ScriptedAnswer, ScriptedEntry};
    let mut answers: Vec<ScriptedEntry> = Vec::new();
    for case in &report.cases {
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

fn usage(err: impl std::fmt::Display) -> anyhow::Error {
    CliError::Usage(err.to_string()).into()
}

fn eval_error(err: sluice_eval::Error) -> anyhow::Error {
    match err {
        sluice_eval::Error::Unreachable { .. } => CliError::Unreachable(err.to_string()).into(),
        other => usage(other),
    }
}
