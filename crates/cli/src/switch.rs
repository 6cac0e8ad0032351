//! `sluice switch …`: kill switches per workflow (`reservation`) and per
//! action (`reservation.create_booking`).
//!
//! A change is audited in the ledger first, under the caller's authenticated
//! identity (a reviewer is refused there), and only then written to the
//! switch bucket with that identity, so the bucket never holds a change the
//! audit trail lacks. The gate and executor watch the bucket: turning a
//! switch off pauses their consumers, turning it on resumes them at once.

use std::io::Write;

use clap::{Args, Subcommand};
use serde_json::{Value, json};
use sluice_bus::{KeyedSwitch, Switch, SwitchState, Switches};
use sluice_core::Subjects;
use sluice_ledger::SwitchChange;

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
    let switches = open(config).await?;
    match command {
        SwitchCommand::List => list(&switches.list().await?, json, out),
        SwitchCommand::Show(KeyArg { key }) => {
            check_key(&key)?;
            let current = switches.get(&key).await?;
            let ledger = config.ledger()?;
            let audit = ledger
                .list_audit("switch", &key, 100)
                .await
                .map_err(|e| CliError::from_ledger(&config.ledger_url, e))?;
            show(&key, current.as_ref(), &audit, json, out)
        }
        SwitchCommand::Off(args) => {
            change(&switches, config, args, SwitchState::Off, json, out).await
        }
        SwitchCommand::On(args) => {
            change(&switches, config, args, SwitchState::On, json, out).await
        }
    }
}

async fn open(config: &CliConfig) -> anyhow::Result<Switches> {
    let subjects = Subjects::new(config.prefix.clone())?;
    let js = async_nats::jetstream::new(config.connect().await?);
    Ok(Switches::open_in(&js, subjects.switches_bucket()).await?)
}

fn check_key(key: &str) -> Result<(), CliError> {
    sluice_core::subjects::validate_switch_key(key).map_err(|e| {
        CliError::Usage(format!(
            "switch keys look like <workflow> or <workflow>.<action>: {e}"
        ))
    })
}

async fn change(
    switches: &Switches,
    config: &CliConfig,
    args: ChangeArgs,
    state: SwitchState,
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    check_key(&args.key)?;
    crate::error::require_reason(&args.reason)?;
    let before = switches.get(&args.key).await?;
    let was = before.as_ref().map_or(SwitchState::On, |s| s.switch.state);
    if args.dry_run {
        if json {
            let answer = json!({ "key": args.key, "from": was.as_str(), "to": state.as_str(),
                                 "dry_run": true });
            writeln!(out, "{answer}")?;
        } else {
            writeln!(
                out,
                "would turn {} {state} (now {was}); nothing changed",
                args.key
            )?;
        }
        return Ok(());
    }
    let ledger = config.ledger()?;
    let record = ledger
        .record_switch_change(&SwitchChange {
            key: args.key.clone(),
            state: state.as_str().to_owned(),
            reason: args.reason.clone(),
            source: "operator".to_owned(),
            detail: Some(json!({ "from": was.as_str() })),
        })
        .await
        .map_err(|e| CliError::from_ledger(&config.ledger_url, e))?;
    let switch = Switch {
        state,
        by: record.actor.clone(),
        reason: args.reason,
        at: Some(record.at),
        source: "operator".to_owned(),
        canaries: 0,
        audit_id: Some(record.id),
    };
    switches.put(&args.key, &switch).await?;
    if json {
        let answer = json!({ "key": args.key, "from": was.as_str(), "switch": switch });
        writeln!(out, "{answer}")?;
    } else {
        writeln!(
            out,
            "{} is {state} (was {was}); audited as {} by {}",
            args.key, record.id, record.actor
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

fn show(
    key: &str,
    current: Option<&KeyedSwitch>,
    audit: &[sluice_ledger::AuditRecord],
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if json {
        let audit: Vec<Value> = audit.iter().map(output::audit_json).collect();
        let answer = json!({ "key": key, "switch": current.map(|s| &s.switch), "audit": audit });
        writeln!(out, "{answer}")?;
        return Ok(());
    }
    match current {
        Some(s) => writeln!(
            out,
            "{key}: {} (by {} via {}: {})",
            s.switch.state, s.switch.by, s.switch.source, s.switch.reason
        )?,
        None => writeln!(out, "{key}: on (never set)")?,
    }
    writeln!(out, "\nAudit trail:")?;
    output::audit_table(out, audit)?;
    Ok(())
}
