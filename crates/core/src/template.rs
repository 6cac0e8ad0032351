//! `{field}` templates: idempotency keys, conversation keys and messages.
//!
//! One scanner for every service; what a field renders to (and whether a
//! failure is an error or a fallback) is the caller's policy, passed in as a
//! lookup.

use serde_json::{Map, Value};

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A `{` with no `}` after it.
    #[error("unclosed placeholder in {template:?}")]
    Unclosed {
        /// The whole template.
        template: String,
    },
    /// A placeholder the lookup had no value for.
    #[error("placeholder {{{name}}} has no value")]
    Missing {
        /// The placeholder's name, without braces.
        name: String,
    },
}

/// Renders `template` over `fields`: strings as they are, every other value
/// in its JSON spelling. A missing or null field is an error naming it: a key
/// that silently renders differently would defeat the ledger.
pub fn render(template: &str, fields: &Map<String, Value>) -> Result<String, TemplateError> {
    render_with(template, |name| match fields.get(name)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    })
}

/// Renders `template`, replacing each `{name}` with `lookup(name)`. Text
/// outside placeholders is copied as it is (a lone `}` included).
pub fn render_with(
    template: &str,
    mut lookup: impl FnMut(&str) -> Option<String>,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| TemplateError::Unclosed {
            template: template.to_owned(),
        })?;
        let name = &after[..close];
        let value = lookup(name).ok_or_else(|| TemplateError::Missing {
            name: name.to_owned(),
        })?;
        out.push_str(&value);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A key-like scalar: a non-empty string as it is, or a number. `None` for
/// anything else (null, empty, boolean, array, object), so that a key is
/// never built from a value that does not identify anything.
pub fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn renders_strings_as_they_are_and_other_values_as_json() {
        let f = fields(json!({"channel": "wa", "n": 4, "ok": true, "tags": ["a"]}));
        assert_eq!(
            render("k:{channel}:{n}:{ok}", &f).as_deref(),
            Ok("k:wa:4:true")
        );
        assert_eq!(render("{tags}", &f).as_deref(), Ok(r#"["a"]"#));
        assert_eq!(
            render("no placeholders }", &f).as_deref(),
            Ok("no placeholders }")
        );
    }

    #[test]
    fn a_missing_or_null_field_is_an_error_naming_it() {
        let f = fields(json!({"gone": null}));
        let missing = render("x:{missing}", &f);
        assert_eq!(
            missing,
            Err(TemplateError::Missing {
                name: "missing".into()
            })
        );
        assert_eq!(
            missing.map_err(|e| e.to_string()),
            Err("placeholder {missing} has no value".to_owned())
        );
        assert!(matches!(
            render("{gone}", &f),
            Err(TemplateError::Missing { .. })
        ));
    }

    #[test]
    fn an_unclosed_placeholder_is_an_error() {
        let err = render("x:{open", &Map::new()).map_err(|e| e.to_string());
        assert_eq!(err, Err("unclosed placeholder in \"x:{open\"".to_owned()));
    }

    #[test]
    fn lookups_decide_what_a_value_renders_to() {
        let v = json!({"s": "a", "empty": "", "n": 2, "b": false});
        let key = |t: &str| render_with(t, |name| scalar(v.get(name)?)).ok();
        assert_eq!(key("{s}-{n}").as_deref(), Some("a-2"));
        assert_eq!(key("{empty}"), None);
        assert_eq!(key("{b}"), None);
    }
}
