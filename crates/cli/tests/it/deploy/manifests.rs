//! Every command, flag and environment variable the rendered manifests
//! pass to a binary is accepted by it: each container's configuration is
//! loaded the way its binary loads it, every `SLUICE_*` variable must land
//! on a real key (the loader ignores unknown ones, so a typo would
//! otherwise pass silently) with the manifest's value, and the ports,
//! probes and grace periods agree with what the binary will do.
//!
//! `scripts/check-deploy.sh` renders each overlay with kustomize into
//! `$SLUICE_DEPLOY_RENDERED/<overlay>.json` (a JSON array of objects).

use std::collections::BTreeMap;

use anyhow::{Context as _, bail, ensure};
use clap::{CommandFactory as _, Parser as _};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sluice_core::source::SecretRef;
use sluice_core::workflow::WebhookTarget;
use sluice_core::{SourceSpec, WorkflowSpec};

use super::rendered::{Container, containers, rendered};
use crate::stack::repo;

/// Variables the telemetry guard reads (every binary), outside the options.
const TELEMETRY: [&str; 5] = [
    "SLUICE_LOG_FORMAT",
    "SLUICE_TRACE_FILTER",
    "RUST_LOG",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_BSP_SCHEDULE_DELAY",
];

/// The variables the ingest sources reference for their webhook secrets.
fn secret_references() -> anyhow::Result<Vec<String>> {
    let sources = SourceSpec::load_all(&repo("sources"))?;
    Ok(sources
        .iter()
        .flat_map(|s| s.webhook.iter().flat_map(|w| w.secrets.iter()))
        .filter_map(|r| match r {
            SecretRef::Env(name) => Some(name.clone()),
            SecretRef::File(_) => None,
        })
        .collect())
}

/// The variables the workflows' `[ownership] escalation` names for their
/// webhook URLs and signing secrets (read by the dead-letter service).
fn escalation_references() -> anyhow::Result<Vec<String>> {
    let workflows = WorkflowSpec::load_all(&repo("workflows"))?;
    Ok(workflows
        .iter()
        .filter_map(|w| w.ownership.as_ref()?.escalation.as_ref())
        .flat_map(|e| {
            let url = match &e.webhook {
                WebhookTarget::Env { env } => Some(env.clone()),
                WebhookTarget::Url(_) => None,
            };
            url.into_iter().chain([e.secret_env.clone()])
        })
        .collect())
}

/// Loads `T` from `env` as `sluice_runtime::config::load` does for the
/// binary, then checks every `SLUICE_*` variable names a key of `T` whose
/// loaded value is the manifest's. Returns the options as JSON.
fn load_checked<T>(c: &Container, allowed_extra: &[String]) -> anyhow::Result<Value>
where
    T: DeserializeOwned + Serialize + Default,
{
    let options: T = sluice_runtime::config::load(None, c.env.clone(), &[])
        .with_context(|| format!("{}: configuration refused", c.workload))?;
    let json = serde_json::to_value(&options)?;
    for (name, value) in &c.env {
        if TELEMETRY.contains(&name.as_str()) || allowed_extra.contains(name) {
            continue;
        }
        let key = name
            .strip_prefix("SLUICE_")
            .with_context(|| format!("{}: {name} is read by nothing", c.workload))?;
        let path: Vec<String> = key
            .to_ascii_lowercase()
            .split("__")
            .map(str::to_owned)
            .collect();
        let mut at = &json;
        for part in &path {
            at = at.get(part).with_context(|| {
                format!(
                    "{}: {name} names no configuration key ({})",
                    c.workload,
                    path.join(".")
                )
            })?;
        }
        let loaded = match at {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        ensure!(
            loaded == *value,
            "{}: {name}={value} was loaded as {loaded}",
            c.workload
        );
    }
    if let Some(format) = c.env.iter().find(|(k, _)| k == "SLUICE_LOG_FORMAT") {
        ensure!(
            matches!(format.1.as_str(), "json" | "pretty"),
            "SLUICE_LOG_FORMAT={}",
            format.1
        );
    }
    Ok(json)
}

/// The port of a `host:port` option.
fn port(json: &Value, key: &str) -> Option<u64> {
    json[key].as_str()?.rsplit(':').next()?.parse().ok()
}

fn container_port(c: &Container, name: &str) -> Option<u64> {
    c.spec["ports"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)?["containerPort"]
        .as_u64()
}

/// The probes and the health port agree with where the service listens,
/// and the pod waits for its drain before it is killed.
fn check_pod(c: &Container, health: Option<u64>, grace_ms: u64) -> anyhow::Result<()> {
    ensure!(
        container_port(c, "health") == health && health.is_some(),
        "{}: the health port is not where the service serves /livez /readyz ({health:?})",
        c.workload
    );
    let period = c.pod["terminationGracePeriodSeconds"]
        .as_u64()
        .unwrap_or(30);
    ensure!(
        period * 1000 >= grace_ms + 5_000,
        "{}: terminationGracePeriodSeconds {period} is shorter than the drain ({grace_ms} ms) plus 5 s",
        c.workload
    );
    Ok(())
}

/// Parses the ledger's command line the way clap would with the manifest's
/// environment: each variable must be one of the binary's `env` flags.
fn check_ledger(c: &Container) -> anyhow::Result<()> {
    use sluice_ledger::cli::Cli;
    let mut flags = BTreeMap::new();
    let command = Cli::command();
    let serve = command
        .find_subcommand("serve")
        .context("sluice-ledger has a serve command")?;
    for arg in command.get_arguments().chain(serve.get_arguments()) {
        if let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) {
            let takes_value = arg.get_action().takes_values();
            flags.insert(
                env.to_string_lossy().into_owned(),
                (long.to_owned(), takes_value),
            );
        }
    }
    let mut argv = c.command.clone();
    for (name, value) in &c.env {
        if TELEMETRY.contains(&name.as_str()) {
            continue;
        }
        let (long, takes_value) = flags
            .get(name)
            .with_context(|| format!("{}: sluice-ledger reads no {name}", c.workload))?;
        if *takes_value {
            argv.push(format!("--{long}={value}"));
        } else if value == "true" {
            argv.push(format!("--{long}"));
        }
    }
    let cli = Cli::try_parse_from(&argv).map_err(|e| anyhow::anyhow!("{}: {e}", c.workload))?;
    if argv.get(1).map(String::as_str) == Some("serve") {
        let listen = c.env.iter().find(|(k, _)| k == "SLUICE_LEDGER_HTTP_LISTEN");
        let health = listen.and_then(|(_, v)| v.rsplit(':').next()?.parse().ok());
        check_pod(c, health, 10_000)?;
        ensure!(
            container_port(c, "grpc") == Some(50051),
            "{}: grpc port",
            c.workload
        );
    }
    drop(cli);
    Ok(())
}

/// `sluice …` in a Job: the command parses and its environment lands on
/// `CliConfig`.
fn check_cli(c: &Container) -> anyhow::Result<()> {
    sluice_cli::Cli::try_parse_from(&c.command)
        .map_err(|e| anyhow::anyhow!("{}: {e}", c.workload))?;
    load_checked::<sluice_cli::CliConfig>(c, &[])?;
    Ok(())
}

/// The console serves its pages and its health on every interface (the
/// Service and the kubelet reach the pod's address, not its loopback), on
/// the ports the manifest names; in-flight requests finish on shutdown.
fn check_console(c: &Container) -> anyhow::Result<()> {
    let json = load_checked::<sluice_console::Options>(c, &[])?;
    check_pod(c, port(&json, "health_listen"), 10_000)?;
    ensure!(
        container_port(c, "http") == port(&json, "listen"),
        "{}: the http port is not where the pages are served",
        c.workload
    );
    for key in ["listen", "health_listen"] {
        let addr: std::net::SocketAddr = json[key]
            .as_str()
            .with_context(|| format!("{}: no {key}", c.workload))?
            .parse()?;
        ensure!(
            !addr.ip().is_loopback(),
            "{}: {key} {addr} is unreachable from outside the pod",
            c.workload
        );
    }
    Ok(())
}

fn check_service(c: &Container) -> anyhow::Result<()> {
    ensure!(
        c.command.len() == 1,
        "{}: services take their configuration from the environment only",
        c.workload
    );
    let grace = |json: &Value, key| json[key].as_u64().unwrap_or(10_000);
    match c.command[0].as_str() {
        "sluice-ingest" => {
            let json = load_checked::<sluice_ingest::Options>(c, &secret_references()?)?;
            check_pod(
                c,
                port(&json, "health_listen"),
                grace(&json, "shutdown_grace_ms"),
            )?;
            ensure!(
                container_port(c, "http") == port(&json, "http_listen"),
                "{}: the http port is not where the API listens",
                c.workload
            );
        }
        "sluice-interpreter" => {
            let json = load_checked::<sluice_interpreter::Options>(c, &[])?;
            check_pod(c, port(&json, "http_listen"), 10_000)?;
        }
        "sluice-gate" => {
            let json = load_checked::<sluice_gate::Options>(c, &[])?;
            check_pod(c, port(&json, "http_listen"), grace(&json, "grace_ms"))?;
        }
        "sluice-executor" => {
            let json = load_checked::<sluice_executor::Options>(c, &[])?;
            check_pod(c, port(&json, "http_listen"), grace(&json, "grace_ms"))?;
        }
        "sluice-notifier" => {
            let json = load_checked::<sluice_notifier::Options>(c, &[])?;
            check_pod(c, port(&json, "http_listen"), grace(&json, "grace_ms"))?;
        }
        "sluice-deadletter" => {
            let json = load_checked::<sluice_deadletter::Options>(c, &escalation_references()?)?;
            check_pod(c, port(&json, "http_listen"), grace(&json, "grace_ms"))?;
        }
        "sluice-console" => check_console(c)?,
        other => bail!("{}: unknown binary {other}", c.workload),
    }
    // The inbox prefix is one the NATS account lets this user subscribe to.
    if let Some((_, prefix)) = c.env.iter().find(|(k, _)| k == "SLUICE_NATS__INBOX_PREFIX") {
        let account = std::fs::read_to_string(repo("deploy/nats/sluice-account.conf"))?;
        ensure!(
            account.contains(&format!("\"{prefix}.>\"")),
            "{}: no NATS user may subscribe to {prefix}.>",
            c.workload
        );
    }
    Ok(())
}

fn check_overlay(overlay: &str) -> anyhow::Result<usize> {
    let objects = rendered(overlay)?;
    let containers = containers(&objects)?;
    ensure!(
        containers.len() >= 10,
        "{overlay}: {} containers",
        containers.len()
    );
    for c in &containers {
        match c.command.first().map(String::as_str) {
            Some("sluice") => check_cli(c)?,
            Some("sluice-ledger") => check_ledger(c)?,
            Some(_) => check_service(c)?,
            None => bail!("{}: no command", c.workload),
        }
    }
    Ok(containers.len())
}

#[test]
#[ignore = "needs the rendered manifests: run scripts/check-deploy.sh"]
fn every_manifest_value_is_accepted_by_its_binary() -> anyhow::Result<()> {
    for overlay in ["dev", "production"] {
        let checked = check_overlay(overlay)?;
        println!("{overlay}: {checked} containers accepted");
    }
    Ok(())
}
