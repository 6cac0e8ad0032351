//! `sluice review approve`: check the corrections with the gate's rules,
//! decide, then resume the execution at the execute stage
//! ([`sluice_ops::review`], shared with the console).

use std::io::Write;

use serde_json::Value;
use sluice_ledger::LedgerClient;
use sluice_ops::Catalog;
use sluice_ops::review::{self, Approval, ApproveError};

use super::{ApproveArgs, report};
use crate::CliConfig;
use crate::error::CliError;

/// Parses `--set name=value`: the value as JSON when it parses, else text.
pub(super) fn parse_set(value: &str) -> Result<(String, Value), String> {
    let (name, raw) = value
        .split_once('=')
        .filter(|(name, _)| !name.trim().is_empty())
        .ok_or_else(|| format!("{value:?} is not name=value"))?;
    let parsed = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
    Ok((name.trim().to_owned(), parsed))
}

/// Approves item `args.id`; see the module documentation.
pub(super) async fn approve(
    ledger: &LedgerClient,
    config: &CliConfig,
    args: ApproveArgs,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let fail = |e| cli_error(config, e);
    let catalog = Catalog::new(&args.workflows_dir);
    let approval = Approval {
        id: args.id,
        reason: args.reason,
        corrections: args.set.into_iter().collect(),
    };
    let prepared = review::prepare(ledger, &catalog, approval)
        .await
        .map_err(fail)?;
    // Connect before deciding: an unreachable broker then leaves the item
    // undecided instead of approved and not resumed.
    let bus = config.bus().await?;
    let approved = prepared.commit(ledger, &bus).await.map_err(fail)?;
    report(&approved.item, approved.state, true, json, out)
}

fn cli_error(config: &CliConfig, err: ApproveError) -> CliError {
    match err {
        ApproveError::Ledger(e) => CliError::from_ledger(&config.ledger_url, e),
        ApproveError::Workflow(why) => CliError::Usage(why),
        other => CliError::Failed(other.to_string()),
    }
}
