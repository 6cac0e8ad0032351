//! Property tests: whatever bytes arrive, decoding an envelope, parsing a
//! workflow and rendering a key template end in a value or a typed error,
//! never a panic; and what round-trips, round-trips exactly.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use sluice_core::template::{TemplateError, render};
use sluice_core::{CorrelationId, Envelope, WorkflowSpec};

use crate::repo;

fn shipped_workflow() -> String {
    std::fs::read_to_string(repo("workflows/reservation/workflow.toml")).expect("workflow.toml")
}

fn envelope(source: &str, event: &str, text: &str) -> Envelope {
    Envelope::new(
        source,
        event,
        "reservation",
        CorrelationId::from_upstream(Some("corr-1")),
        chrono::DateTime::from_timestamp(1_764_000_000, 0).unwrap_or_default(),
        json!({ "text": text }),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn decoding_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Envelope::decode(&bytes);
    }

    #[test]
    fn a_damaged_envelope_is_an_error_or_a_whole_envelope(
        text in any::<String>(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let encoded = envelope("whatsapp", "wamid.1", &text).encode().expect("encode");
        // Truncated anywhere: never a panic, and never accepted unless whole.
        let at = cut.index(encoded.len());
        if let Ok(decoded) = Envelope::decode(&encoded[..at]) {
            prop_assert_eq!(decoded.encode().expect("encode"), encoded.clone());
        }
        let mut flipped = encoded.clone();
        let i = flip.index(flipped.len());
        flipped[i] ^= 1 << bit;
        let _ = Envelope::decode(&flipped);
    }

    #[test]
    fn envelopes_round_trip(source in "[a-z]{1,12}", event in any::<String>(), text in any::<String>()) {
        let original = envelope(&source, &event, &text);
        let decoded = Envelope::decode(&original.encode().expect("encode")).expect("decode");
        prop_assert_eq!(&decoded, &original);
        prop_assert_eq!(decoded.execution_id, sluice_core::ExecutionId::derive(&source, &event, "reservation"));
    }

    #[test]
    fn parsing_any_text_as_a_workflow_never_panics(text in any::<String>()) {
        let _ = WorkflowSpec::parse(&text, "fuzz.toml");
    }

    #[test]
    fn a_damaged_workflow_is_refused_naming_the_file(
        line in any::<prop::sample::Index>(),
        junk in any::<String>(),
    ) {
        let good = shipped_workflow();
        let lines: Vec<&str> = good.lines().collect();
        let i = line.index(lines.len());
        let mut edited: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        edited[i] = junk;
        match WorkflowSpec::parse(&edited.join("\n"), "edited.toml") {
            Ok(spec) => prop_assert_eq!(spec.name, "reservation"),
            Err(err) => prop_assert!(err.to_string().contains("edited.toml"), "{}", err),
        }
    }

    #[test]
    fn rendering_any_template_never_panics(template in any::<String>(), value in any::<String>()) {
        let mut fields = Map::new();
        fields.insert("a".into(), Value::String(value));
        let _ = render(&template, &fields);
    }

    #[test]
    fn a_key_renders_as_its_parts(
        parts in proptest::collection::vec(("[^{}]{0,8}", prop::option::of("[a-c]")), 0..6),
        values in proptest::collection::vec("[^{}]{0,8}", 3),
    ) {
        let names = ["a", "b", "c"];
        let fields: Map<String, Value> = names
            .iter()
            .zip(&values)
            .map(|(n, v)| ((*n).to_owned(), Value::String(v.clone())))
            .collect();
        let mut template = String::new();
        let mut expected = String::new();
        for (literal, placeholder) in &parts {
            template.push_str(literal);
            expected.push_str(literal);
            if let Some(name) = placeholder {
                template.push_str(&format!("{{{name}}}"));
                expected.push_str(fields[name.as_str()].as_str().unwrap_or_default());
            }
        }
        prop_assert_eq!(render(&template, &fields), Ok(expected));
    }

    #[test]
    fn a_missing_field_is_named_never_rendered_empty(name in "[a-z]{1,10}") {
        let rendered = render(&format!("key:{{{name}}}"), &Map::new());
        prop_assert_eq!(rendered, Err(TemplateError::Missing { name }));
    }
}
