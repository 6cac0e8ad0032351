//! The workflow's contract schema: what valid interpreter output is.

use std::collections::BTreeSet;
use std::path::Path;

use jsonschema::Validator;
use jsonschema::error::ValidationErrorKind;
use jsonschema::paths::LocationSegment;
use serde_json::{Map, Value};

use crate::Error;

/// What a personal field's value is replaced with in logs.
pub const REDACTED: &str = "[redacted]";

/// A compiled contract schema.
#[derive(Debug)]
pub struct Contract {
    /// The schema document (sent to models as the structured-output format).
    pub schema: Value,
    validator: Validator,
}

impl Contract {
    /// Reads and compiles the schema at `path`.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let invalid = |reason: String| Error::Workflow {
            workflow: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| invalid(format!("contract: {e}")))?;
        let schema: Value =
            serde_json::from_str(&text).map_err(|e| invalid(format!("contract: {e}")))?;
        Self::new(schema).map_err(|e| invalid(e.to_string()))
    }

    /// Compiles `schema` (formats such as `date` are asserted).
    pub fn new(schema: Value) -> Result<Self, Error> {
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| Error::Workflow {
                workflow: "contract".into(),
                reason: format!("contract schema does not compile: {e}"),
            })?;
        Ok(Self { schema, validator })
    }

    /// Every validation error, one line each (`/party_size: -1 is less than
    /// the minimum of 1`); empty when `value` is valid.
    pub fn errors(&self, value: &Value) -> Vec<String> {
        self.validator
            .iter_errors(value)
            .map(|e| {
                let path = e.instance_path().to_string();
                let path = if path.is_empty() {
                    "/".to_owned()
                } else {
                    path
                };
                format!("{path}: {e}")
            })
            .collect()
    }

    /// The declared fields `value` fails on, one each however many errors
    /// it has: the top-level property an error is under, the property a
    /// `required` error misses, or `_other` (the object itself, undeclared
    /// properties). Only declared names come out, never a key a model made
    /// up, so they are safe as metric labels.
    pub fn failing_fields(&self, value: &Value) -> BTreeSet<String> {
        let declared = |name: &str| self.properties().any(|(k, _)| k == name);
        self.validator
            .iter_errors(value)
            .map(|e| {
                let under = e
                    .instance_path()
                    .into_iter()
                    .next()
                    .map(|segment| match segment {
                        LocationSegment::Property(p) => p.to_string(),
                        LocationSegment::Index(i) => i.to_string(),
                    });
                let field = match (under, e.kind()) {
                    (Some(field), _) => field,
                    (None, ValidationErrorKind::Required { property }) => {
                        property.as_str().unwrap_or_default().to_owned()
                    }
                    (None, _) => String::new(),
                };
                if declared(&field) {
                    field
                } else {
                    "_other".to_owned()
                }
            })
            .collect()
    }

    /// The schema's top-level property names.
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.properties().map(|(k, _)| k.as_str())
    }

    /// The properties marked `"x-personal": true` (redacted in logs).
    pub fn personal_fields(&self) -> Vec<String> {
        self.properties()
            .filter(|(_, p)| p.get("x-personal").and_then(Value::as_bool) == Some(true))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// `contract` with every personal field's value replaced by
    /// `"[redacted]"`: what a log line or a span may show of it.
    pub fn redacted(&self, contract: &Value) -> Value {
        let mut out = contract.clone();
        if let Value::Object(fields) = &mut out {
            for name in self.personal_fields() {
                if let Some(value) = fields.get_mut(&name) {
                    *value = Value::String(REDACTED.to_owned());
                }
            }
        }
        out
    }

    /// The schema's top-level properties.
    fn properties(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.schema
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(Map::iter)
    }

    /// The schema as sent to a model with `strict` structured output: every
    /// property required but nullable (strict mode cannot express optional
    /// fields), no extra keywords; [`drop_nulls`] undoes it on the answer.
    pub fn wire_schema(&self) -> Value {
        let mut props = Map::new();
        for (name, prop) in self.properties() {
            let mut p = Map::new();
            for key in ["type", "enum", "description"] {
                if let Some(v) = prop.get(key) {
                    p.insert(key.into(), v.clone());
                }
            }
            if let Some(t) = p.get("type").and_then(Value::as_str).map(str::to_owned)
                && !self.is_required(name)
            {
                p.insert("type".into(), serde_json::json!([t, "null"]));
                if let Some(Value::Array(e)) = p.get_mut("enum") {
                    e.push(Value::Null);
                }
            }
            props.insert(name.clone(), Value::Object(p));
        }
        let required: Vec<Value> = props.keys().cloned().map(Value::String).collect();
        serde_json::json!({
            "type": "object",
            "properties": props,
            "required": required,
            "additionalProperties": false,
        })
    }

    fn is_required(&self, name: &str) -> bool {
        self.schema
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|v| v == name))
    }
}

/// Removes `null` fields: "not determined" is an absent field in a contract.
pub fn drop_nulls(value: &mut Value) {
    if let Value::Object(map) = value {
        map.retain(|_, v| !v.is_null());
    }
}
