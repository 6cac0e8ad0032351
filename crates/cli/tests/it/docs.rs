//! The configuration reference in `docs/operations.md` is checked against
//! the code: every key of every binary's options, every environment flag of
//! `sluice-ledger` and the global flags of `sluice` appear in it, and every
//! `SLUICE_*` name it mentions is one some binary reads.

use std::collections::BTreeSet;

use clap::CommandFactory as _;
use serde::Serialize;
use serde_json::Value;

use crate::stack::repo;

/// Keys whose values are maps by a name the operator picks: documented as
/// `SLUICE_<KEY>__<NAME>__…`.
const MAPS: [&str; 3] = ["models", "channels", "action_settings"];

/// Maps from a name to one value: `SLUICE_<KEY>__<NAME>`.
const VALUE_MAPS: [&str; 2] = ["context_urls", "context_databases"];

/// Read by the telemetry guard of every binary, or resolved by reference
/// (the example sources' webhook secrets, the reservation workflow's
/// escalation webhook).
const OTHERS: [&str; 8] = [
    "SLUICE_LOG_FORMAT",
    "SLUICE_TRACE_FILTER",
    "SLUICE_WHATSAPP_WEBHOOK_SECRET",
    "SLUICE_WHATSAPP_WEBHOOK_SECRET_NEXT",
    "SLUICE_CRM_WEBHOOK_SECRET",
    "SLUICE_CRM_WEBHOOK_SECRET_NEXT",
    "SLUICE_RESERVATION_ESCALATION_URL",
    "SLUICE_RESERVATION_ESCALATION_SECRET",
];

fn leaves(prefix: &str, value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let name = format!("{prefix}{}", key.to_ascii_uppercase());
                if MAPS.contains(&key.as_str()) {
                    out.insert(format!("{name}__<NAME>__"));
                } else if VALUE_MAPS.contains(&key.as_str()) {
                    out.insert(format!("{name}__<NAME>"));
                } else {
                    leaves(&format!("{name}__"), inner, out);
                }
            }
        }
        _ => {
            out.insert(prefix.trim_end_matches("__").to_owned());
        }
    }
}

/// `SLUICE_*` names of every key of `T`.
fn names<T: Serialize + Default>(separator_after_prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let json = serde_json::to_value(T::default()).unwrap_or_default();
    leaves(&format!("SLUICE{separator_after_prefix}"), &json, &mut out);
    out
}

/// Every name the binaries read, and every flag.
fn documented_by_code() -> (BTreeSet<String>, BTreeSet<String>) {
    let mut vars = BTreeSet::new();
    vars.extend(names::<sluice_ingest::Options>("_"));
    vars.extend(names::<sluice_interpreter::Options>("_"));
    vars.extend(names::<sluice_gate::Options>("_"));
    vars.extend(names::<sluice_executor::Options>("_"));
    vars.extend(names::<sluice_notifier::Options>("_"));
    vars.extend(names::<sluice_deadletter::Options>("_"));
    vars.extend(names::<sluice_console::Options>("_"));
    vars.extend(names::<sluice_cli::CliConfig>("_"));
    let mut flags = BTreeSet::from(["--config".to_owned()]);
    let ledger = sluice_ledger::cli::Cli::command();
    let serve = ledger.find_subcommand("serve").cloned();
    for arg in ledger
        .get_arguments()
        .chain(serve.iter().flat_map(|s| s.get_arguments()))
    {
        if let Some(env) = arg.get_env() {
            vars.insert(env.to_string_lossy().into_owned());
        }
        if let Some(long) = arg.get_long() {
            flags.insert(format!("--{long}"));
        }
    }
    let sluice = sluice_cli::Cli::command();
    for arg in sluice.get_arguments() {
        if let Some(long) = arg.get_long() {
            flags.insert(format!("--{long}"));
        }
    }
    // Variables a subcommand's flags read (`sluice trigger`'s
    // SLUICE_INGEST_URL) are configuration too.
    let mut commands: Vec<&clap::Command> = sluice.get_subcommands().collect();
    while let Some(command) = commands.pop() {
        commands.extend(command.get_subcommands());
        for env in command.get_arguments().filter_map(|a| a.get_env()) {
            vars.insert(env.to_string_lossy().into_owned());
        }
    }
    (vars, flags)
}

#[test]
fn the_configuration_reference_matches_the_code() -> anyhow::Result<()> {
    let doc = std::fs::read_to_string(repo("docs/operations.md"))?;
    let (vars, flags) = documented_by_code();
    let missing: Vec<&String> = vars
        .iter()
        .chain(flags.iter())
        .filter(|name| !doc.contains(&format!("`{name}")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/operations.md does not document {missing:?}"
    );
    // And nothing documented is read by nobody.
    let mentioned: BTreeSet<&str> = doc
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '<' || c == '>'))
        .filter(|w| w.starts_with("SLUICE_"))
        .collect();
    // Stream names (`SLUICE_DLQ`…) are no variables.
    let subjects = sluice_core::Subjects::default();
    let streams: Vec<String> = sluice_core::subjects::StreamKind::ALL
        .iter()
        .map(|k| subjects.stream(*k))
        .collect();
    let stale: Vec<&&str> = mentioned
        .iter()
        .filter(|name| **name != "SLUICE_" && !streams.iter().any(|s| s == **name))
        .filter(|name| {
            // A map's entries: `SLUICE_MODELS__<NAME>__BASE_URL`.
            if let Some((map, _)) = name.split_once("<NAME>") {
                return !vars.contains(&format!("{map}<NAME>__"))
                    && !vars.contains(&format!("{map}<NAME>"));
            }
            let name = name.trim_end_matches('_');
            !vars.iter().any(|v| v == name)
                && !OTHERS.contains(&name)
                && !name.starts_with("SLUICE_NKEY_")
                && !name.starts_with("SLUICE_TEST_")
                && !name.starts_with("SLUICE_DEPLOY_")
        })
        .collect();
    assert!(
        stale.is_empty(),
        "docs/operations.md names variables no binary reads: {stale:?}"
    );
    Ok(())
}
