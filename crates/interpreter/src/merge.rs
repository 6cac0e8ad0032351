//! Confidence and clarification merging for an accepted answer.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sluice_bus::PendingRequest;

use crate::backend::InterpretRequest;
use crate::conversation::fill_from;
use crate::rules::ExtractInput;
use crate::workflow::LoadedWorkflow;

/// Confidence of a field kept from an earlier message of the conversation.
const CARRIED: f64 = 0.9;

impl LoadedWorkflow {
    /// Fields behind the overall confidence: the gate's required fields when
    /// declared, else every field that is not fixed.
    pub(crate) fn confidence_fields(
        &self,
        confidence: &BTreeMap<String, f64>,
        fixed: &Map<String, Value>,
    ) -> Vec<String> {
        let required: Vec<String> = self
            .spec
            .gate
            .rules
            .get("required")
            .and_then(toml::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if required.is_empty() {
            confidence
                .keys()
                .filter(|k| !fixed.contains_key(*k))
                .cloned()
                .collect()
        } else {
            required
        }
    }

    /// Completes `contract` with the parked fields; keeps the merge only if
    /// the result still validates.
    pub(crate) fn merge(
        &self,
        request: &InterpretRequest,
        contract: &mut Map<String, Value>,
        fixed: &Map<String, Value>,
        pending: &PendingRequest,
        confidence: &mut BTreeMap<String, f64>,
    ) -> Vec<String> {
        let mut merged = contract.clone();
        let mut taken = fill_from(&mut merged, &pending.contract, fixed);
        if !self
            .contract
            .errors(&Value::Object(merged.clone()))
            .is_empty()
        {
            tracing::warn!("the parked clarification no longer fits the contract; not merged");
            return Vec::new();
        }
        // A model shown the collected fields may repeat them: those are
        // carried over too, unless the new message itself says them.
        let said_now = self.deterministic(request).unwrap_or_default();
        if let Some(parked) = pending.contract.as_object() {
            for (field, value) in parked {
                let repeated = !taken.contains(field)
                    && !fixed.contains_key(field)
                    && merged.get(field) == Some(value);
                if repeated && !said_now.contains_key(field) && self.extractor.is_some() {
                    taken.push(field.clone());
                }
            }
        }
        for field in &taken {
            confidence.insert(field.clone(), CARRIED);
        }
        *contract = merged;
        taken.sort();
        taken
    }

    /// Per-field confidence of a model's answer: agreement with the
    /// deterministic reading when there is one, a flat 0.8 otherwise.
    pub(crate) fn agreement(
        &self,
        request: &InterpretRequest,
        contract: &Map<String, Value>,
        fixed: &Map<String, Value>,
    ) -> BTreeMap<String, f64> {
        let rules = self.deterministic(request);
        contract
            .iter()
            .filter(|(k, _)| !fixed.contains_key(*k))
            .map(|(k, v)| {
                let c = match rules.as_ref().map(|r| r.get(k)) {
                    Some(Some(r)) if r == v => 0.95,
                    Some(Some(_)) => 0.6,
                    _ => 0.8,
                };
                (k.clone(), c)
            })
            .collect()
    }

    pub(crate) fn deterministic(&self, request: &InterpretRequest) -> Option<Map<String, Value>> {
        let extractor = self.extractor.as_ref()?;
        let input = ExtractInput {
            source: &request.source,
            payload: &request.payload,
            now: request.now,
            opening_hours: request.opening_hours,
        };
        Some(extractor.extract(&input).contract)
    }
}
