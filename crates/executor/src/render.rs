//! Rendering an action's idempotency key and request body from the contract,
//! and fingerprinting what would be sent.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};

/// Renders `template` (`reservation:{channel}:{message_id}`) over `fields`.
/// A placeholder with no value is an error naming it: a key that silently
/// renders differently would defeat the ledger.
pub fn template(template: &str, fields: &Map<String, Value>) -> Result<String, String> {
    sluice_core::template::render(template, fields).map_err(|e| e.to_string())
}

/// The fields placeholders may use: the contract's, then the upstream
/// payload's top-level ones where the contract has none of that name.
pub fn fields(contract: &Value, data: &Value) -> Map<String, Value> {
    let mut fields = data.as_object().cloned().unwrap_or_default();
    if let Some(contract) = contract.as_object() {
        fields.extend(contract.clone());
    }
    fields
}

/// The request body: each `target_field = "{field}"` takes the field's value
/// with its JSON type; any other template renders to text. Without a mapping
/// the contract is sent as it is.
pub fn body(
    mapping: Option<&BTreeMap<String, String>>,
    contract: &Value,
    fields: &Map<String, Value>,
) -> Result<Value, String> {
    let Some(mapping) = mapping else {
        return Ok(contract.clone());
    };
    let mut out = Map::new();
    for (target, tpl) in mapping {
        let whole = tpl
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .filter(|name| !name.contains(['{', '}']));
        let value = match whole {
            // An optional field left out of the contract is left out here too.
            Some(name) => match fields.get(name) {
                Some(v) if !v.is_null() => v.clone(),
                _ => continue,
            },
            None => Value::String(template(tpl, fields)?),
        };
        out.insert(target.clone(), value);
    }
    Ok(Value::Object(out))
}

/// SHA-256 (hex) of the canonical JSON of `value`: object keys sorted at
/// every level, no whitespace, so equal arguments always fingerprint equally.
pub fn fingerprint(value: &Value) -> String {
    let mut text = String::new();
    canonical(value, &mut text);
    hex::encode(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()))
}

fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, &Value> = map.iter().collect();
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{}:", Value::String(k.clone()));
                canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn renders_keys_and_refuses_missing_placeholders() {
        let f = obj(json!({"channel": "whatsapp", "message_id": "wamid.1", "n": 4}));
        assert_eq!(
            template("reservation:{channel}:{message_id}", &f).as_deref(),
            Ok("reservation:whatsapp:wamid.1")
        );
        assert_eq!(template("x:{n}", &f).as_deref(), Ok("x:4"));
        assert!(template("x:{missing}", &f).unwrap_err().contains("missing"));
        assert!(template("x:{open", &f).is_err());
    }

    #[test]
    fn maps_bodies_keeping_types() {
        let contract = json!({"name": "Ana", "party_size": 4, "sender": "+34"});
        let f = fields(&contract, &json!({"channel": "wa"}));
        let mapping: BTreeMap<String, String> = [
            ("name", "{name}"),
            ("party_size", "{party_size}"),
            ("phone", "{sender}"),
            ("notes", "via {channel}"),
            ("absent", "{nope}"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
        let b = body(Some(&mapping), &contract, &f).unwrap_or_default();
        assert_eq!(
            b,
            json!({"name": "Ana", "party_size": 4, "phone": "+34", "notes": "via wa"})
        );
        assert_eq!(body(None, &contract, &f), Ok(contract.clone()));
    }

    #[test]
    fn fingerprints_ignore_key_order() {
        let a = json!({"b": 1, "a": {"y": [1, 2], "x": "s"}});
        let b = json!({"a": {"x": "s", "y": [1, 2]}, "b": 1});
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&json!({"b": 2})));
        assert_eq!(fingerprint(&a).len(), 64);
    }
}
