//! Declared sources, made ready to use: secrets resolved, schema compiled.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use sluice_core::SourceSpec;
use sluice_core::source::SecretRef;

use crate::Error;
use crate::signature::Secret;

/// One source ready to accept events.
#[derive(Debug)]
pub struct Source {
    /// The declaration.
    pub spec: SourceSpec,
    /// Resolved webhook secrets (empty when the source takes no webhooks).
    pub secrets: Vec<Secret>,
    schema: Option<jsonschema::Validator>,
}

/// One schema violation, with the offending value masked so that a payload
/// never ends up in a response or a log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaViolation {
    /// JSON Pointer to the offending part of the payload.
    pub instance_path: String,
    /// JSON Pointer to the schema keyword that failed.
    pub schema_path: String,
    /// What is wrong, with values masked.
    pub message: String,
}

/// Violations beyond this many are not listed.
const MAX_VIOLATIONS: usize = 20;

impl Source {
    /// Checks `payload` against the source's schema (always valid without one).
    pub fn validate(&self, payload: &serde_json::Value) -> Result<(), Vec<SchemaViolation>> {
        let Some(schema) = &self.schema else {
            return Ok(());
        };
        let violations: Vec<_> = schema
            .iter_errors(payload)
            .take(MAX_VIOLATIONS)
            .map(|e| SchemaViolation {
                instance_path: e.instance_path().to_string(),
                schema_path: e.schema_path().to_string(),
                message: e.masked().to_string(),
            })
            .collect();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }
}

/// Every declared source, by name.
#[derive(Debug, Clone, Default)]
pub struct Sources(Arc<BTreeMap<String, Source>>);

impl Sources {
    /// Loads `<dir>/*.toml`, compiles their schemas and resolves their
    /// secrets from `env` (for [`SecretRef::Env`]) or files.
    ///
    /// A reference that is not set is skipped with a warning (the second
    /// secret of a rotation is usually absent), but a webhook source with no
    /// usable secret at all, or a secret that does not decode, is an error.
    pub fn load(dir: &Path, env: &HashMap<String, String>) -> Result<Self, Error> {
        let mut sources = BTreeMap::new();
        for spec in SourceSpec::load_all(dir)? {
            let source = Source {
                secrets: resolve_secrets(&spec, env)?,
                schema: compile_schema(&spec, dir)?,
                spec,
            };
            sources.insert(source.spec.name.clone(), source);
        }
        Ok(Self(Arc::new(sources)))
    }

    /// The source named `name`.
    pub fn get(&self, name: &str) -> Option<&Source> {
        self.0.get(name)
    }

    /// Every source, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Source> {
        self.0.values()
    }
}

fn resolve_secrets(spec: &SourceSpec, env: &HashMap<String, String>) -> Result<Vec<Secret>, Error> {
    let Some(webhook) = &spec.webhook else {
        return Ok(Vec::new());
    };
    let fail = |reason: String| Error::Source {
        source_name: spec.name.clone(),
        reason,
    };
    let mut secrets = Vec::new();
    for reference in &webhook.secrets {
        let (text, named) = match reference {
            SecretRef::Env(name) => (env.get(name).cloned(), format!("env {name}")),
            SecretRef::File(path) => (
                std::fs::read_to_string(path).ok(),
                format!("file {}", path.display()),
            ),
        };
        match text.filter(|t| !t.trim().is_empty()) {
            None => {
                tracing::warn!(source = %spec.name, secret = %named, "webhook secret not set; skipped")
            }
            Some(text) => secrets
                .push(Secret::parse(&text).map_err(|e| fail(format!("secret from {named}: {e}")))?),
        }
    }
    if secrets.is_empty() {
        return Err(fail(
            "none of the webhook secrets is set (see [webhook].secrets)".to_owned(),
        ));
    }
    Ok(secrets)
}

fn compile_schema(spec: &SourceSpec, dir: &Path) -> Result<Option<jsonschema::Validator>, Error> {
    let Some(relative) = &spec.schema else {
        return Ok(None);
    };
    let path = dir.join(relative);
    let fail = |reason: String| Error::Source {
        source_name: spec.name.clone(),
        reason: format!("schema {}: {reason}", path.display()),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| fail(e.to_string()))?;
    let schema: serde_json::Value = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
    let validator = jsonschema::validator_for(&schema).map_err(|e| fail(e.to_string()))?;
    Ok(Some(validator))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sources")
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn loads_the_shipped_sources_with_one_secret_of_two() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let sources = Sources::load(
            &shipped(),
            &env(&[
                ("SLUICE_WHATSAPP_WEBHOOK_SECRET", secret),
                ("SLUICE_CRM_WEBHOOK_SECRET", secret),
            ]),
        )
        .expect("sources");
        let whatsapp = sources.get("whatsapp").expect("whatsapp");
        assert_eq!(whatsapp.secrets.len(), 1);
        let ok = serde_json::json!({"id": "wamid.1", "from": "+31600000000", "text": "hi"});
        assert!(whatsapp.validate(&ok).is_ok());
        let bad = serde_json::json!({"id": "wamid.1", "from": "secret-name", "text": ""});
        let violations = whatsapp.validate(&bad).expect_err("invalid");
        assert_eq!(violations.len(), 2, "{violations:?}");
        let text = serde_json::to_string(&violations).expect("json");
        assert!(!text.contains("secret-name"), "payload echoed: {text}");
    }

    #[test]
    fn refuses_a_webhook_source_without_any_secret() {
        let err = Sources::load(&shipped(), &env(&[])).expect_err("no secret");
        assert!(
            err.to_string().contains("none of the webhook secrets"),
            "{err}"
        );
        let err = Sources::load(
            &shipped(),
            &env(&[
                ("SLUICE_WHATSAPP_WEBHOOK_SECRET", "whsec_!!"),
                ("SLUICE_CRM_WEBHOOK_SECRET", "whsec_!!"),
            ]),
        )
        .expect_err("bad secret");
        assert!(!err.to_string().contains("whsec_!!"), "{err}");
    }
}
