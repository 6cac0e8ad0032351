//! `{field}` templates over a contract (conversation keys).

use serde_json::Value;

/// Renders `template`, replacing each `{field}` with the contract's value
/// (strings as-is, numbers and booleans in JSON spelling). Returns `None` when
/// a placeholder names a missing, null or structured field, or a brace is
/// unbalanced: a half-rendered key would group unrelated conversations.
pub fn render(template: &str, contract: &Value) -> Option<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}')?;
        out.push_str(&scalar(contract.get(&after[..close])?)?);
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return None;
    }
    out.push_str(rest);
    Some(out)
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::render;

    #[test]
    fn renders_or_refuses() {
        let c = json!({"channel": "whatsapp", "sender": "+34600", "n": 4});
        assert_eq!(
            render("{channel}:{sender}", &c).as_deref(),
            Some("whatsapp:+34600")
        );
        assert_eq!(render("n={n}", &c).as_deref(), Some("n=4"));
        assert_eq!(render("{missing}", &c), None);
        assert_eq!(render("{channel", &c), None);
        assert_eq!(render("x}", &c), None);
    }
}
