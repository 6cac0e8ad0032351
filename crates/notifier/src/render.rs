//! Rendering confirmations and clarification questions.

use sluice_core::Envelope;
use sluice_core::template::{render_with, scalar};

/// The plain confirmation used when the workflow's template cannot be filled.
pub const FALLBACK: &str = "Your request {execution_id} is confirmed.";

/// Renders the workflow's confirmation `template` over the contract plus
/// `{external_id}` and `{execution_id}`; falls back to [`FALLBACK`] when a
/// placeholder cannot be filled, so a richer message never blocks the
/// confirmation itself.
pub fn confirmation(template: &str, envelope: &Envelope) -> String {
    let lookup = |name: &str| -> Option<String> {
        match name {
            "execution_id" => Some(envelope.execution_id.to_string()),
            "external_id" => envelope.actions.iter().find_map(|a| a.external_id.clone()),
            field => scalar(envelope.interpretation.as_ref()?.contract.get(field)?),
        }
    };
    render_with(template, &lookup)
        .or_else(|_| render_with(FALLBACK, &lookup))
        .unwrap_or_else(|_| "Your request is confirmed.".to_owned())
}

/// A question asking for exactly `missing`, one phrase per field.
pub fn question(missing: &[String]) -> String {
    let phrases: Vec<String> = missing.iter().map(|f| phrase(f)).collect();
    match phrases.as_slice() {
        [] => "Could you tell us a little more about your request?".to_owned(),
        [one] => one.clone(),
        many => format!("To complete your request: {}", many.join(" ")),
    }
}

/// [`question`], after saying that what was asked for is not possible and
/// what is, when the gate offers alternatives (the nearest free times of a
/// full slot).
pub fn question_with_offers(missing: &[String], offers: &[String]) -> String {
    if offers.is_empty() {
        return question(missing);
    }
    format!(
        "Sorry, that is not available. We could offer {}. {}",
        list(offers),
        question(missing)
    )
}

/// `a`, `a or b`, `a, b or c`.
fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The per-field phrase table, with a generic fallback.
fn phrase(field: &str) -> String {
    match field {
        "party_size" => "How many people will be joining?".to_owned(),
        "date" => "Which day would you like to come?".to_owned(),
        "time" => "What time would you like the table?".to_owned(),
        "name" => "What name should the booking be under?".to_owned(),
        other => format!("Could you tell us the {}?", other.replace('_', " ")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use sluice_core::pipeline::{ActionRecord, Interpretation};
    use sluice_core::{CorrelationId, Envelope};

    use super::*;

    fn envelope(contract: Value) -> Envelope {
        let mut e = Envelope::new(
            "whatsapp",
            "m1",
            "reservation",
            CorrelationId::generate(),
            chrono::Utc::now(),
            json!({}),
        );
        e.interpretation = Some(Interpretation {
            contract,
            confidence: 0.9,
            field_confidence: Default::default(),
            proposed_action: None,
            backend: "rules".into(),
            model: None,
            prompt_version: "v1".into(),
            prompt_sha256: String::new(),
            usage: None,
            latency_ms: 0,
            fallback_reason: None,
            carried_over: vec![],
            schema_failures: vec![],
            context: vec![],
        });
        e.actions.push(ActionRecord {
            action: "create_booking".into(),
            key: "k".into(),
            external_id: Some("bk-1".into()),
            response: json!({}),
            prevented_duplicate: false,
        });
        e
    }

    #[test]
    fn fills_the_template_or_falls_back() {
        let e = envelope(json!({"party_size": 4, "date": "2026-11-24", "time": "21:00"}));
        let t = "Your table for {party_size} on {date} at {time} is booked ({external_id}).";
        assert_eq!(
            confirmation(t, &e),
            "Your table for 4 on 2026-11-24 at 21:00 is booked (bk-1)."
        );
        let partial = envelope(json!({"party_size": 4}));
        let expected = format!("Your request {} is confirmed.", partial.execution_id);
        assert_eq!(confirmation(t, &partial), expected);
    }

    #[test]
    fn a_full_slot_is_said_with_the_alternatives() {
        let text = question_with_offers(
            &["time".into()],
            &["19:30".into(), "20:30".into(), "21:00".into()],
        );
        assert_eq!(
            text,
            "Sorry, that is not available. We could offer 19:30, 20:30 or 21:00. \
             What time would you like the table?"
        );
        assert_eq!(
            question_with_offers(&["time".into()], &[]),
            "What time would you like the table?"
        );
    }

    #[test]
    fn asks_only_for_what_is_missing() {
        assert_eq!(
            question(&["party_size".into()]),
            "How many people will be joining?"
        );
        let both = question(&["date".into(), "time".into()]);
        assert!(
            both.contains("Which day") && both.contains("What time"),
            "{both}"
        );
        assert!(!both.contains("people"));
        assert_eq!(
            question(&["dietary_needs".into()]),
            "Could you tell us the dietary needs?"
        );
    }
}
