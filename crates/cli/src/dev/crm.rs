//! The example CRM of `sluice dev`: a database with the accounts and the
//! staged enrichment suggestions (`examples/crm`), written by the
//! `postgres` actions of the declared workflows.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use sluice_core::WorkflowSpec;

/// Applies the example CRM's schema to the database at `url`.
pub(super) async fn prepare(url: &str) -> anyhow::Result<()> {
    crm_example::prepare(url)
        .await
        .context("creating the example CRM's tables")
}

/// Per-action settings that point every `postgres` action declared in
/// `workflows_dir` without a database of its own at the example CRM. In
/// production the executor's own settings supply each target's URL.
pub(super) fn action_settings(
    workflows_dir: &Path,
    url: &str,
) -> anyhow::Result<BTreeMap<String, toml::Table>> {
    let mut settings = BTreeMap::new();
    for spec in WorkflowSpec::load_all(workflows_dir)? {
        for action in spec.actions {
            if action.connector == "postgres" && !action.settings.contains_key("database_url") {
                let mut table = toml::Table::new();
                table.insert("database_url".into(), url.into());
                settings.insert(action.name, table);
            }
        }
    }
    Ok(settings)
}
