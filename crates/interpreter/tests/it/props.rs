//! Property tests of contract validation, the check every model answer goes
//! through: any JSON ends in a list of errors (empty only for a valid
//! contract), never a panic, and an answer with a field the contract does
//! not declare, or a value of the wrong type, is never valid.

use std::path::Path;

use proptest::prelude::*;
use serde_json::{Value, json};
use sluice_interpreter::contract::Contract;

fn contract() -> Contract {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../workflows/reservation/contract.schema.json");
    Contract::load(&path).expect("reservation contract")
}

fn valid() -> Value {
    json!({
        "channel": "whatsapp", "message_id": "wamid.1", "sender": "34600000000",
        "name": "Ana", "party_size": 4, "date": "2026-11-24", "time": "21:00",
        "action": "create_booking",
    })
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_answer_gets_errors_or_none_never_a_panic(answer in any_json(), text in any::<String>()) {
        let c = contract();
        let errors = c.errors(&answer);
        let _ = c.failing_fields(&answer);
        let _ = c.redacted(&answer);
        if !answer.is_object() {
            prop_assert!(!errors.is_empty());
        }
        // What a model sends is text first.
        if let Ok(parsed) = serde_json::from_str::<Value>(&text) {
            let _ = c.errors(&parsed);
        }
    }

    #[test]
    fn an_undeclared_field_is_never_valid(name in "[a-z_]{1,20}", value in any_json()) {
        let c = contract();
        prop_assume!(!c.field_names().any(|f| f == name));
        let mut answer = valid();
        answer[name.as_str()] = value;
        prop_assert!(!c.errors(&answer).is_empty());
    }

    #[test]
    fn a_wrongly_typed_value_is_never_valid(
        field in prop::sample::select(vec!["party_size", "date", "time", "name", "action"]),
        value in any_json(),
    ) {
        let c = contract();
        let wrong = match field {
            // A number field given anything but an integer in range.
            "party_size" => !value
                .as_f64()
                .is_some_and(|n| n.fract() == 0.0 && (1.0..=1_000.0).contains(&n)),
            _ => !value.is_string(),
        };
        prop_assume!(wrong);
        let mut answer = valid();
        answer[field] = value;
        prop_assert!(!c.errors(&answer).is_empty(), "{} = {} passed", field, answer[field]);
    }
}

#[test]
fn the_valid_example_is_valid() {
    assert_eq!(contract().errors(&valid()), Vec::<String>::new());
}
