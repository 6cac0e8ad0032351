//! The reservation extractor: party size, date and time from a chat message
//! in English or Spanish, resolved in the restaurant's timezone; the guest's
//! name as the message introduces it, else the payload's profile name.

mod date;
mod name;
mod party;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_spanish;
mod text;
mod time;

use serde_json::{Map, Value, json};

use super::{ExtractInput, Extraction, Extractor, overall_confidence};

/// The fields whose confidences make up the overall confidence.
const BUSINESS_FIELDS: &[&str] = &["party_size", "date", "time"];

/// Registered as `reservation`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReservationExtractor;

impl Extractor for ReservationExtractor {
    fn fixed_fields(&self, source: &str, payload: &Value) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("channel".into(), json!(source));
        for (field, key) in [("message_id", "id"), ("sender", "from")] {
            if let Some(v) = payload.get(key).and_then(Value::as_str) {
                fields.insert(field.into(), json!(v));
            }
        }
        fields
    }

    fn message_text(&self, payload: &Value) -> String {
        payload
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }

    fn extract(&self, input: &ExtractInput<'_>) -> Extraction {
        let mut out = Extraction {
            contract: self.fixed_fields(input.source, input.payload),
            ..Extraction::default()
        };
        // The only action this workflow knows; what the guest really wants
        // is for the gate (and a person) to judge, not for the extractor.
        out.set("action", "create_booking", 0.9);
        let message = self.message_text(input.payload);
        let profile = input
            .payload
            .get("name")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        if let Some(name) = name::introduced(&message).or(profile) {
            out.set("name", name, 0.9);
        }
        let tokens = text::tokens(&message);
        if let Some((n, c)) = party::party_size(&tokens) {
            out.set("party_size", n, c);
        }
        if let Some((d, c)) = date::date(&tokens, input.now.date_naive()) {
            out.set("date", d.format("%Y-%m-%d").to_string(), c);
        }
        if let Some((t, c)) = time::time(&tokens, input.opening_hours) {
            out.set("time", t.format("%H:%M").to_string(), c);
        }
        out
    }
}

/// The overall confidence of a reservation contract's field confidences.
pub fn confidence(extraction: &Extraction) -> f64 {
    overall_confidence(&extraction.field_confidence, BUSINESS_FIELDS)
}
