//! `sluice eval <workflow>`: the workflow's frozen cases through a backend,
//! scored field by field and judged against the last saved baseline; the
//! accepted feedback cases (`eval/feedback.jsonl`) through the same backend,
//! scored apart and never judged against the baseline. `sluice eval
//! import-feedback` and `accept-feedback` make those cases from reviewers'
//! decisions ([`feedback`]).
//!
//! The engine is `sluice-eval`; this module picks the backend (starting the
//! scripted fake model in-process for `--backend fake`), prints, writes the
//! baseline or a fake script when asked, and turns a regression into exit 1.
//!
//! The baseline measures the frozen cases alone: the accepted feedback cases
//! grow whenever someone accepts more, so an accuracy over them is not
//! comparable from one run to the next, and a baseline that counted them
//! would regress or improve with every accepted case instead of with the
//! prompt, model or extractor.

mod backend;
mod feedback;
mod print;

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use sluice_core::WorkflowSpec;
use sluice_eval::{Baseline, EvalWorkflow, Thresholds};
use sluice_interpreter::Registry;

use crate::CliConfig;
use crate::error::CliError;

/// Arguments of `sluice eval`: a run over a workflow's cases, or one of the
/// feedback commands.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EvalArgs {
    /// Feedback from reviews instead of a run.
    #[command(subcommand)]
    pub command: Option<EvalCommand>,
    /// The run.
    #[command(flatten)]
    pub run: RunArgs,
}

/// `sluice eval`'s feedback commands.
#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Write the workflow's reviewed corrections and rejections as candidate
    /// cases to a pending file (which no run reads) for a person to check.
    ImportFeedback(feedback::ImportArgs),
    /// Move checked candidate cases from the pending file into
    /// `eval/feedback.jsonl`, where runs score them apart.
    AcceptFeedback(feedback::AcceptArgs),
}

/// Arguments of a run: `sluice eval <workflow>`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The workflow whose `eval/*.jsonl` cases to run.
    #[arg(required = true)]
    pub workflow: Option<String>,
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

/// Runs `sluice eval`; `config` reaches the ledger for `import-feedback`,
/// `env` resolves `--api-key-env`.
pub async fn run(
    args: EvalArgs,
    config: &CliConfig,
    env: &[(String, String)],
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    match args.command {
        Some(EvalCommand::ImportFeedback(args)) => feedback::import(args, config, json, out).await,
        Some(EvalCommand::AcceptFeedback(args)) => feedback::accept(args, json, out),
        None => run_cases(args.run, env, json, out).await,
    }
}

/// Runs the cases of `args.workflow`.
async fn run_cases(
    args: RunArgs,
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
    let name = args.workflow.clone().unwrap_or_default();
    let dir = workflow_dir(&args.workflows, &name)?;
    let spec = WorkflowSpec::load(&dir).map_err(usage)?;
    let kind = args
        .backend
        .unwrap_or(match spec.interpret.backend.as_str() {
            "rules" => BackendKind::Rules,
            "fake" => BackendKind::Fake,
            _ => BackendKind::Openai,
        });
    let suite = sluice_eval::load_suite(&dir.join("eval")).map_err(usage)?;
    let (choice, fake) = backend::backend(kind, &args, &dir, env).await?;
    let workflow =
        EvalWorkflow::load(&dir, choice, &Registry::with_builtin()).map_err(eval_error)?;
    let reports = run_both(&workflow, &suite).await;
    if let Some(fake) = fake {
        fake.stop();
    }
    let (report, feedback) = reports?;
    let score = report.score();
    let feedback_score = feedback.as_ref().map(sluice_eval::Report::score);
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
        feedback: feedback.as_ref().zip(feedback_score.as_ref()),
        feedback_path: &dir.join("eval").join(sluice_eval::suite::FEEDBACK_FILE),
    };
    if json {
        writeln!(out, "{}", view.json())?;
    } else {
        view.human(out)?;
    }
    if let Some(path) = &args.write_fake_script {
        let (report, feedback) = (&report, feedback.as_ref());
        backend::write_fake_script(&workflow, report, feedback, &suite.frozen, path, &name)?;
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

/// The frozen cases' report, and the accepted feedback cases' if there are any.
async fn run_both(
    workflow: &EvalWorkflow,
    suite: &sluice_eval::Suite,
) -> anyhow::Result<(sluice_eval::Report, Option<sluice_eval::Report>)> {
    let report = workflow.run(&suite.frozen).await.map_err(eval_error)?;
    if suite.feedback.is_empty() {
        return Ok((report, None));
    }
    let feedback = workflow.run(&suite.feedback).await.map_err(eval_error)?;
    Ok((report, Some(feedback)))
}

/// The folder of workflow `name` under `workflows`; not found (exit 3)
/// without a `workflow.toml`.
fn workflow_dir(workflows: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = workflows.join(name);
    if !dir.join("workflow.toml").is_file() {
        let msg = format!(
            "no workflow {name:?}: {} does not exist",
            dir.join("workflow.toml").display()
        );
        return Err(CliError::NotFound(msg).into());
    }
    Ok(dir)
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
