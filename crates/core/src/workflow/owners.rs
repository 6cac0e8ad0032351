//! The owners of the declared workflows, looked up by workflow name for
//! metric labels, alerts and operator output.

use std::collections::BTreeMap;

use super::{OwnershipSpec, UNOWNED, WorkflowSpec};

/// Every declared workflow's `[ownership]`, by workflow name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owners(BTreeMap<String, OwnershipSpec>);

impl Owners {
    /// The ownership of every spec that declares one.
    pub fn new<'a>(specs: impl IntoIterator<Item = &'a WorkflowSpec>) -> Self {
        let owned = specs
            .into_iter()
            .filter_map(|s| Some((s.name.clone(), s.ownership.clone()?)));
        Self(owned.collect())
    }

    /// Every workflow that declares an owner, with it, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &OwnershipSpec)> {
        self.0.iter().map(|(w, o)| (w.as_str(), o))
    }

    /// `workflow`'s `[ownership]`, if declared.
    pub fn get(&self, workflow: &str) -> Option<&OwnershipSpec> {
        self.0.get(workflow)
    }

    /// `workflow`'s owning team, if declared.
    pub fn owner(&self, workflow: &str) -> Option<&str> {
        self.get(workflow).map(|o| o.owner.as_str())
    }

    /// `workflow`'s owning team as a metrics label: [`UNOWNED`] when none
    /// is declared (or `workflow` is a source, as for ingest dead letters).
    pub fn label(&self, workflow: &str) -> &str {
        self.owner(workflow).unwrap_or(UNOWNED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_are_found_by_workflow_and_the_rest_is_unowned() -> Result<(), crate::Error> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows");
        let specs = WorkflowSpec::load_all(&root)?;
        let owners = Owners::new(&specs);
        assert_eq!(owners.owner("reservation"), Some("front-of-house"));
        assert_eq!(owners.label("crm-enrichment"), "sales-ops");
        assert_eq!(owners.owner("whatsapp"), None);
        assert_eq!(owners.label("whatsapp"), UNOWNED);
        assert_eq!(Owners::default().label("reservation"), UNOWNED);
        Ok(())
    }
}
