//! The approve form's fields, generated from the workflow's contract
//! schema: one input per field a reviewer may correct, filled with what was
//! understood, and the reasons a correction was refused next to its field.

use std::collections::BTreeMap;

use maud::{Markup, html};
use serde_json::{Map, Number, Value};
use sluice_ops::Workflow;
use sluice_ops::review::FieldError;

use crate::pages::handoff;

/// The prefix of a correction's form field: `set.party_size`.
const PREFIX: &str = "set.";

/// A submitted approve form that was refused, shown again as entered.
#[derive(Debug, Default)]
pub struct Attempt {
    /// What was typed, by field.
    pub values: BTreeMap<String, String>,
    /// Why it was refused.
    pub errors: Vec<FieldError>,
    /// The reason typed.
    pub reason: String,
}

/// The corrections in a submitted form: every field whose value differs
/// from what was understood, typed by the schema. A value that does not
/// read as its type is an error next to its field.
pub fn parse(
    workflow: &Workflow,
    understood: &Value,
    form: &[(String, String)],
) -> (Map<String, Value>, Attempt) {
    let mut corrections = Map::new();
    let mut attempt = Attempt::default();
    for (key, raw) in form {
        let Some(name) = key.strip_prefix(PREFIX) else {
            continue;
        };
        attempt.values.insert(name.to_owned(), raw.clone());
        let raw = raw.trim();
        let schema = workflow
            .correctable()
            .into_iter()
            .find(|(field, _)| *field == name)
            .map(|(_, schema)| schema);
        let Some(schema) = schema else {
            let why = workflow
                .not_correctable(name)
                .unwrap_or("cannot be corrected here");
            attempt.errors.push(FieldError {
                field: Some(name.to_owned()),
                message: why.to_owned(),
            });
            continue;
        };
        if raw.is_empty() {
            // An empty box leaves the field as understood.
            continue;
        }
        match typed(schema, raw) {
            Ok(value) if understood.get(name) != Some(&value) => {
                corrections.insert(name.to_owned(), value);
            }
            Ok(_) => {}
            Err(message) => attempt.errors.push(FieldError {
                field: Some(name.to_owned()),
                message,
            }),
        }
    }
    (corrections, attempt)
}

/// `raw` as the JSON type `schema` declares.
fn typed(schema: &Value, raw: &str) -> Result<Value, String> {
    match schema["type"].as_str() {
        Some("integer") => raw
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| "must be a whole number".to_owned()),
        Some("number") => raw
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| "must be a number".to_owned()),
        Some("boolean") => match raw {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err("must be true or false".to_owned()),
        },
        _ => Ok(Value::String(raw.to_owned())),
    }
}

/// The inputs, and the errors that belong to no field above them.
pub fn fields(workflow: &Workflow, understood: &Value, attempt: Option<&Attempt>) -> Markup {
    let correctable = workflow.correctable();
    let errors = attempt.map_or(&[][..], |a| a.errors.as_slice());
    let general: Vec<&FieldError> = errors
        .iter()
        .filter(|e| {
            e.field
                .as_deref()
                .is_none_or(|f| !correctable.iter().any(|(name, _)| *name == f))
        })
        .collect();
    html! {
        @if !general.is_empty() {
            div class="errors" role="alert" {
                p { "Nothing was decided:" }
                ul { @for e in &general { li { (e) } } }
            }
        }
        fieldset {
            legend { "The request (correct any field before approving)" }
            @for (name, schema) in &correctable {
                @let mine: Vec<&FieldError> = errors.iter().filter(|e| e.field.as_deref() == Some(*name)).collect();
                @let value = attempt
                    .and_then(|a| a.values.get(*name).cloned())
                    .unwrap_or_else(|| understood.get(*name).map(current).unwrap_or_default());
                (input(name, schema, &value, &mine))
            }
        }
    }
}

fn current(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        other => handoff::text(other),
    }
}

fn input(name: &str, schema: &Value, value: &str, errors: &[&FieldError]) -> Markup {
    let id = format!("set-{name}");
    let error_id = format!("{id}-error");
    let form_name = format!("{PREFIX}{name}");
    let invalid = !errors.is_empty();
    let described = invalid.then_some(error_id.as_str());
    let kind = match (schema["type"].as_str(), schema["format"].as_str()) {
        (Some("integer" | "number"), _) => "number",
        (_, Some("date")) => "date",
        _ => "text",
    };
    let step = (schema["type"].as_str() == Some("integer")).then_some("1");
    html! {
        div class="field" {
            label for=(id) { (name) }
            @if let Some(description) = schema["description"].as_str() {
                small { (description) }
            }
            @if let Some(options) = schema["enum"].as_array() {
                select id=(id) name=(form_name) aria-invalid=[invalid.then_some("true")] aria-describedby=[described] {
                    option value="" { "—" }
                    @for option in options {
                        @let text = handoff::text(option);
                        option value=(text) selected[text == value] { (text) }
                    }
                }
            } @else {
                input id=(id) name=(form_name) type=(kind) value=(value) step=[step]
                    min=[schema["minimum"].as_i64()] max=[schema["maximum"].as_i64()]
                    maxlength=[schema["maxLength"].as_u64()]
                    aria-invalid=[invalid.then_some("true")] aria-describedby=[described];
            }
            @if invalid {
                p class="error" id=(error_id) {
                    @for e in errors { (e.message) " " }
                }
            }
        }
    }
}
