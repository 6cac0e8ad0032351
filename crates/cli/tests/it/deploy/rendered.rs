//! The rendered manifests (`$SLUICE_DEPLOY_RENDERED/<overlay>.json`, a
//! JSON array of objects written by `scripts/check-deploy.sh`) and the
//! containers in them, with the environment each one gets.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use serde_json::Value;

/// A value for a variable that comes from a Secret, in the form the binary
/// expects.
fn secret_sample(name: &str) -> String {
    match name {
        "SLUICE_DATABASE_URL" => "postgres://sluice:pw@postgres:5432/sluice".into(),
        "SLUICE_LEDGER_TOKENS" => "0123456789abcdef0123=service:ingest".into(),
        _ => "sample-secret-value-0123456789".into(),
    }
}

/// One container of a rendered workload.
pub struct Container {
    pub workload: String,
    pub command: Vec<String>,
    pub env: Vec<(String, String)>,
    pub pod: Value,
    pub spec: Value,
}

// A test reads what scripts/check-deploy.sh hands it through the environment.
#[allow(clippy::disallowed_methods)]
pub fn rendered(overlay: &str) -> anyhow::Result<Vec<Value>> {
    let dir = std::env::var("SLUICE_DEPLOY_RENDERED")
        .context("SLUICE_DEPLOY_RENDERED is unset: run scripts/check-deploy.sh")?;
    let path = PathBuf::from(dir).join(format!("{overlay}.json"));
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    Ok(serde_json::from_str(&text)?)
}

pub fn containers(objects: &[Value]) -> anyhow::Result<Vec<Container>> {
    let config_map = |name: &str| {
        objects
            .iter()
            .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == name)
    };
    let mut found = Vec::new();
    for object in objects {
        if !matches!(object["kind"].as_str(), Some("Deployment" | "Job")) {
            continue;
        }
        let pod = &object["spec"]["template"]["spec"];
        for spec in pod["containers"].as_array().into_iter().flatten() {
            let mut env = Vec::new();
            for from in spec["envFrom"].as_array().into_iter().flatten() {
                let name = from["configMapRef"]["name"].as_str().unwrap_or_default();
                let map = config_map(name).with_context(|| format!("no ConfigMap {name}"))?;
                for (k, v) in map["data"].as_object().into_iter().flatten() {
                    env.push((k.clone(), v.as_str().unwrap_or_default().to_owned()));
                }
            }
            for var in spec["env"].as_array().into_iter().flatten() {
                let name = var["name"].as_str().unwrap_or_default().to_owned();
                let value = match var["value"].as_str() {
                    Some(value) => value.to_owned(),
                    None if var["valueFrom"]["secretKeyRef"].is_object() => secret_sample(&name),
                    None => bail!("{name}: only literal values and Secret references are used"),
                };
                // An explicit variable wins over envFrom, as in Kubernetes.
                env.retain(|(k, _)| *k != name);
                env.push((name, value));
            }
            let command = spec["command"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(spec["args"].as_array().into_iter().flatten())
                .filter_map(|a| a.as_str().map(str::to_owned))
                .collect();
            found.push(Container {
                workload: format!(
                    "{}/{}",
                    object["kind"].as_str().unwrap_or_default(),
                    object["metadata"]["name"].as_str().unwrap_or_default()
                ),
                command,
                env,
                pod: pod.clone(),
                spec: spec.clone(),
            });
        }
    }
    Ok(found)
}
