//! Who owns what, for `sluice review` and `sluice dlq` output: the
//! `[ownership]` of the workflows under `--workflows-dir`.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::Value;
use sluice_core::WorkflowSpec;
use sluice_core::workflow::Owners;

/// Where the workflow definitions (and so their owners) are read from.
#[derive(Debug, Clone, Args)]
pub struct WorkflowsDir {
    /// The workflow definitions, for showing each item's owner.
    #[arg(long, default_value = "workflows")]
    pub workflows_dir: PathBuf,
}

impl WorkflowsDir {
    /// The owners declared under the folder. Owners are context, not the
    /// answer: when the folder cannot be read (an operator outside the
    /// repository) the command still answers, owners unknown, and says so
    /// on stderr.
    pub fn owners(&self) -> Owners {
        load(&self.workflows_dir)
    }
}

fn load(dir: &Path) -> Owners {
    match WorkflowSpec::load_all(dir) {
        Ok(specs) => Owners::new(&specs),
        Err(e) => {
            eprintln!("sluice: owners unknown (see --workflows-dir): {e}");
            Owners::default()
        }
    }
}

/// `workflow`'s owner as JSON: the team, or null.
pub fn json(owners: &Owners, workflow: &str) -> Value {
    owners
        .owner(workflow)
        .map_or(Value::Null, |o| Value::String(o.to_owned()))
}

/// `workflow`'s owner as a table cell: the team, or `-`.
pub fn cell(owners: &Owners, workflow: &str) -> String {
    owners.owner(workflow).unwrap_or("-").to_owned()
}
