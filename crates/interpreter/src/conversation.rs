//! Clarification follow-ups: the conversation key, and merging a parked
//! partial contract with what the new message says.

use serde_json::{Map, Value};
use sluice_core::template::{render_with, scalar};

/// Renders a conversation-key template such as `{channel}:{sender}` over
/// `fields` (the contract's fixed fields), then the payload's top-level
/// values. `None` when a placeholder has no value: no key, no merge.
pub fn render_key(template: &str, fields: &Map<String, Value>, payload: &Value) -> Option<String> {
    render_with(template, |name| {
        scalar(fields.get(name).or_else(|| payload.get(name))?)
    })
    .ok()
}

/// Fills fields missing from `contract` with the parked ones (never the
/// fixed fields, which always come from the new message). Returns the names
/// of the fields taken from `parked`.
pub fn fill_from(
    contract: &mut Map<String, Value>,
    parked: &Value,
    fixed: &Map<String, Value>,
) -> Vec<String> {
    let mut taken = Vec::new();
    let Some(parked) = parked.as_object() else {
        return taken;
    };
    for (field, value) in parked {
        if fixed.contains_key(field) || value.is_null() || contract.contains_key(field) {
            continue;
        }
        contract.insert(field.clone(), value.clone());
        taken.push(field.clone());
    }
    taken
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_come_from_fixed_fields_then_the_payload() {
        let mut fixed = Map::new();
        fixed.insert("channel".into(), json!("whatsapp"));
        fixed.insert("sender".into(), json!("+34600000001"));
        let payload = json!({"from": "+34600000001", "n": 3});
        assert_eq!(
            render_key("{channel}:{sender}", &fixed, &payload).as_deref(),
            Some("whatsapp:+34600000001")
        );
        assert_eq!(
            render_key("{from}-{n}", &fixed, &payload).as_deref(),
            Some("+34600000001-3")
        );
        assert_eq!(render_key("{missing}", &fixed, &payload), None);
    }

    #[test]
    fn new_fields_win_and_fixed_fields_are_never_carried() {
        let mut contract = json!({"channel": "whatsapp", "message_id": "m2", "party_size": 4})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let parked = json!({"channel": "whatsapp", "message_id": "m1", "party_size": 2, "date": "2026-11-24", "time": "21:00"});
        let mut fixed = Map::new();
        fixed.insert("message_id".into(), json!("m2"));
        let taken = fill_from(&mut contract, &parked, &fixed);
        assert_eq!(taken, ["date", "time"]);
        assert_eq!(contract["party_size"], json!(4));
        assert_eq!(contract["message_id"], json!("m2"));
    }
}
