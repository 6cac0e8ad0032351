//! `{field}` templates over a contract (conversation keys).

use serde_json::Value;
use sluice_core::template;

/// Renders `template`, replacing each `{field}` with the contract's value
/// (strings as-is, numbers and booleans in JSON spelling). Returns `None` when
/// a placeholder names a missing, null or structured field, or a brace is
/// unbalanced: a half-rendered key would group unrelated conversations.
pub fn render(template: &str, contract: &Value) -> Option<String> {
    let rendered = template::render_with(template, |name| match contract.get(name)? {
        Value::Bool(b) => Some(b.to_string()),
        other => template::scalar(other),
    })
    .ok()?;
    if tail(template).contains('}') {
        return None;
    }
    Some(rendered)
}

/// The text after the last placeholder (all of it when there is none).
fn tail(template: &str) -> &str {
    match template.rfind('{') {
        None => template,
        Some(open) => template[open..]
            .find('}')
            .map_or("", |close| &template[open + close + 1..]),
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
