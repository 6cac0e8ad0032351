//! The declared workflows an operator action needs: the contract a
//! correction must satisfy, the gate's rules it is checked by, and which
//! fields identify the request (and so may not be corrected).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};
use sluice_core::WorkflowSpec;
use sluice_gate::rules::Policy;
use sluice_interpreter::contract::Contract;

/// One declared workflow, compiled.
#[derive(Debug)]
pub struct Workflow {
    /// The gate's policy (holds the spec).
    pub policy: Policy,
    /// The compiled contract schema.
    pub contract: Contract,
    identity: BTreeSet<String>,
}

impl Workflow {
    /// Compiles `spec` loaded from `dir`.
    pub fn new(spec: WorkflowSpec, dir: &Path) -> Result<Self, String> {
        let contract =
            Contract::load(&dir.join(&spec.contract)).map_err(|e| format!("{}: {e}", spec.name))?;
        let identity = identity_fields(&spec);
        let policy = Policy::new(spec).map_err(|e| e.to_string())?;
        Ok(Self {
            policy,
            contract,
            identity,
        })
    }

    /// The workflow's name.
    pub fn name(&self) -> &str {
        &self.policy.spec.name
    }

    /// Whether `field` is part of an idempotency or conversation key.
    /// Such a field names the request rather than describing it: changing
    /// it would give the same request a second key, and a second effect.
    pub fn is_identity(&self, field: &str) -> bool {
        self.identity.contains(field)
    }

    /// Why `field` may not be corrected, if it may not: it is not in the
    /// contract, or it identifies the request.
    pub fn not_correctable(&self, field: &str) -> Option<&'static str> {
        if !self.contract.field_names().any(|name| name == field) {
            Some("is not a field of this workflow")
        } else if self.is_identity(field) {
            Some(
                "identifies the request (it is part of its idempotency or conversation key) and cannot be corrected",
            )
        } else {
            None
        }
    }

    /// The contract's top-level properties a reviewer may correct, in
    /// schema order, with their schema.
    pub fn correctable(&self) -> Vec<(&str, &Value)> {
        self.contract
            .schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(Map::iter)
            .filter(|(name, _)| !self.is_identity(name))
            .map(|(name, schema)| (name.as_str(), schema))
            .collect()
    }
}

/// Every placeholder of the workflow's key templates.
fn identity_fields(spec: &WorkflowSpec) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let templates = spec
        .actions
        .iter()
        .map(|a| a.idempotency_key.as_str())
        .chain(spec.conversation_key.as_deref());
    for template in templates {
        // Rendering with a lookup that records each name visits every
        // placeholder; an unclosed one names nothing.
        let _ = sluice_core::template::render_with(template, |name| {
            names.insert(name.to_owned());
            Some(String::new())
        });
    }
    names
}

/// The workflows under one directory, read on first use (a `sluice review
/// approve` without corrections never needs them) and then kept.
#[derive(Debug)]
pub struct Catalog {
    dir: PathBuf,
    loaded: OnceLock<Result<Vec<Arc<Workflow>>, String>>,
}

impl Catalog {
    /// The workflows declared under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            loaded: OnceLock::new(),
        }
    }

    /// Where the workflows are read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every workflow, loading them on the first call.
    pub fn all(&self) -> Result<&[Arc<Workflow>], String> {
        self.loaded
            .get_or_init(|| self.load())
            .as_deref()
            .map_err(Clone::clone)
    }

    /// The workflow named `name`.
    pub fn workflow(&self, name: &str) -> Result<Arc<Workflow>, String> {
        self.all()?
            .iter()
            .find(|w| w.name() == name)
            .cloned()
            .ok_or_else(|| format!("workflow {name:?} not found in {}", self.dir.display()))
    }

    /// Who owns each workflow (`[ownership]`); none when the workflows
    /// cannot be loaded, since an owner is context, not the decision.
    pub fn owners(&self) -> sluice_core::workflow::Owners {
        self.all().map_or_else(
            |_| sluice_core::workflow::Owners::default(),
            |all| sluice_core::workflow::Owners::new(all.iter().map(|w| &w.policy.spec)),
        )
    }

    fn load(&self) -> Result<Vec<Arc<Workflow>>, String> {
        let fail = |e: String| format!("cannot load workflows from {}: {e}", self.dir.display());
        let specs = WorkflowSpec::load_all(&self.dir).map_err(|e| fail(e.to_string()))?;
        specs
            .into_iter()
            .map(|spec| {
                let dir = self.dir.join(&spec.name);
                Workflow::new(spec, &dir).map(Arc::new).map_err(fail)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> Catalog {
        Catalog::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../workflows"))
    }

    #[test]
    fn key_fields_cannot_be_corrected_and_the_rest_can() -> Result<(), String> {
        let reservation = repo().workflow("reservation")?;
        // `reservation:{channel}:{message_id}` and `{channel}:{sender}`.
        for field in ["channel", "message_id", "sender"] {
            assert!(reservation.is_identity(field), "{field}");
            assert!(reservation.not_correctable(field).is_some(), "{field}");
        }
        let correctable: Vec<&str> = reservation.correctable().iter().map(|(n, _)| *n).collect();
        assert!(correctable.contains(&"party_size") && correctable.contains(&"time"));
        assert!(!correctable.contains(&"message_id"));
        assert_eq!(
            reservation.not_correctable("nonsense"),
            Some("is not a field of this workflow")
        );
        let crm = repo().workflow("crm-enrichment")?;
        assert!(crm.is_identity("account_id") && crm.is_identity("source_hash"));
        Ok(())
    }

    #[test]
    fn an_unknown_workflow_or_directory_is_named() {
        let missing = repo().workflow("nope").err().unwrap_or_default();
        assert!(missing.contains("\"nope\" not found"), "{missing}");
        let nowhere = Catalog::new("/nonexistent/workflows");
        let err = nowhere.all().err().unwrap_or_default();
        assert!(err.contains("/nonexistent/workflows"), "{err}");
    }
}
