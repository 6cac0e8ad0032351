//! `sluice switch …`: kill switches per workflow (`reservation`) and per
//! action (`reservation.create_booking`).
//!
//! The change itself (audited in the ledger first, under the caller's
//! identity, then written to the switch bucket) is `sluice_ops::switches`,
//! shared with the review console; this module reads the arguments and
//! prints the answer.

use std::io::Write;

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use sluice_bus::{KeyedSwitch, SwitchState, Switches};
use sluice_core::Subjects;
use sluice_ops::switches::{self, Change, Trail};

use crate::CliConfig;
use crate::error::CliError;
use crate::output::{self, table};

/// Kill-switch commands.
#[derive(Debug, Subcommand)]
pub enum SwitchCommand {
    /// Lists every switch that has been set.
    List,
    /// Shows one switch and its audit trail.
    Show(KeyArg),
    /// Turns a switch off: nothing it covers is decided or executed.
    Off(ChangeArgs),
    /// Turns a switch back on (also ends a breaker's half-open state).
    On(ChangeArgs),
}

/// A switch key.
#[derive(Debug, Args)]
pub struct KeyArg {
    /// `<workflow>` or `<workflow>.<action>`.
    pub key: String,
}

/// Arguments of `sluice switch off|on`.
#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// `<workflow>` or `<workflow>.<action>`.
    pub key: String,
    /// Why (required; kept in the audit trail).
    #[arg(long)]
    pub reason: String,
    /// Show what would change and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Runs a switch command.
pub async fn run(
    command: SwitchCommand,
    config: &CliConfig,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let bucket = open(config).await?;
    let failed = |e: switches::Error| failure(config, e);
    match command {
        SwitchCommand::List => list(&switches::list(&bucket).await.map_err(failed)?, json, out),
        SwitchCommand::Show(KeyArg { key }) => {
            let trail = switches::trail(&bucket, &config.ledger()?, &key)
                .await
                .map_err(failed)?;
            show(&trail, json, out)
        }
        SwitchCommand::Off(args) => {
            let change = Change::off(args.key, args.reason).map_err(failed)?;
            change_to(&bucket, config, &change, args.dry_run, json, out).await
        }
        SwitchCommand::On(args) => {
            let change = Change::on(args.key, args.reason).map_err(failed)?;
            change_to(&bucket, config, &change, args.dry_run, json, out).await
        }
    }
}

async fn open(config: &CliConfig) -> anyhow::Result<Switches> {
    let subjects = Subjects::new(config.prefix.clone())?;
    let js = async_nats::jetstream::new(config.connect().await?);
    Ok(Switches::open_in(&js, subjects.switches_bucket()).await?)
}

/// Words a failure as the other commands do: usage errors exit 2, the
/// ledger's refusals name the ledger.
fn failure(config: &CliConfig, err: switches::Error) -> anyhow::Error {
    match err {
        switches::Error::InvalidKey { .. } => CliError::Usage(err.to_string()).into(),
        switches::Error::EmptyReason => {
            CliError::Usage("--reason must not be empty".to_owned()).into()
        }
        switches::Error::Ledger(e) => CliError::from_ledger(&config.ledger_url, e).into(),
        switches::Error::Bus(e) => e.into(),
        other => other.into(),
    }
}

async fn change_to(
    bucket: &Switches,
    config: &CliConfig,
    change: &Change,
    dry_run: bool,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let (key, state) = (change.key(), change.to());
    if dry_run {
        let was = switches::preview(bucket, change)
            .await
            .map_err(|e| failure(config, e))?
            .from;
        if json {
            let answer = json!({ "key": key, "from": was.as_str(), "to": state.as_str(),
                                 "dry_run": true });
            writeln!(out, "{answer}")?;
        } else {
            writeln!(out, "would turn {key} {state} (now {was}); nothing changed")?;
        }
        return Ok(());
    }
    let changed = switches::apply(bucket, &config.ledger()?, change)
        .await
        .map_err(|e| failure(config, e))?;
    let was = changed.from;
    if json {
        let answer = json!({ "key": key, "from": was.as_str(), "switch": changed.switch });
        writeln!(out, "{answer}")?;
    } else {
        writeln!(
            out,
            "{key} is {state} (was {was}); audited as {} by {}",
            changed.audit.id, changed.audit.actor
        )?;
    }
    Ok(())
}

fn switch_json(s: &KeyedSwitch) -> Value {
    json!({ "key": s.key, "revision": s.revision, "switch": s.switch })
}

fn list(switches: &[KeyedSwitch], json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    if json {
        let rows: Vec<Value> = switches.iter().map(switch_json).collect();
        writeln!(out, "{}", json!({ "switches": rows }))?;
        return Ok(());
    }
    if switches.is_empty() {
        writeln!(out, "no switch has been set: everything is on")?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = switches
        .iter()
        .map(|s| {
            let w = &s.switch;
            let state = match w.state {
                SwitchState::HalfOpen => format!("half_open ({} canaries left)", w.canaries),
                other => other.as_str().to_owned(),
            };
            vec![
                s.key.clone(),
                state,
                w.source.clone(),
                w.by.clone(),
                w.at.map(output::instant).unwrap_or_default(),
                w.reason.clone(),
            ]
        })
        .collect();
    table(
        out,
        &["KEY", "STATE", "SOURCE", "BY", "AT", "REASON"],
        &rows,
    )?;
    Ok(())
}

fn show(trail: &Trail, json: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let key = &trail.key;
    if json {
        let audit: Vec<Value> = trail.audit.iter().map(output::audit_json).collect();
        let current = trail.current.as_ref().map(|s| &s.switch);
        let answer = json!({ "key": key, "switch": current, "audit": audit });
        writeln!(out, "{answer}")?;
        return Ok(());
    }
    match &trail.current {
        Some(s) => writeln!(
            out,
            "{key}: {} (by {} via {}: {})",
            s.switch.state, s.switch.by, s.switch.source, s.switch.reason
        )?,
        None => writeln!(out, "{key}: on (never set)")?,
    }
    writeln!(out, "\nAudit trail:")?;
    output::audit_table(out, &trail.audit)?;
    Ok(())
}
