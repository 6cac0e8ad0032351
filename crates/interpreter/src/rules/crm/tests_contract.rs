//! The shipped contract and the extractor agree: what the extractor reads
//! validates, its enums are the schema's, and the schema refuses a value
//! without its evidence.

use std::path::Path;

use serde_json::{Value, json};

use super::tests::extract;
use crate::contract::Contract;

fn contract() -> Contract {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../workflows/crm-enrichment/contract.schema.json");
    Contract::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn enum_of(contract: &Contract, field: &str) -> Vec<String> {
    contract.schema["properties"][field]["enum"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn the_schema_lists_exactly_the_extractors_values() {
    let c = contract();
    let (industries, bands) = super::enums();
    assert_eq!(enum_of(&c, "industry"), industries);
    assert_eq!(enum_of(&c, "annual_revenue_band"), bands);
}

#[test]
fn what_the_extractor_reads_validates() {
    let c = contract();
    let out = extract(
        "Headquartered in São Paulo, Brazil. A SaaS platform with 300 employees. Revenue of $40M.",
        "Also a clinic chain? No: software.",
    );
    let value = Value::Object(out.contract);
    assert_eq!(c.errors(&value), Vec::<String>::new(), "{value}");
}

#[test]
fn a_value_needs_its_evidence() {
    let c = contract();
    let base = json!({"account_id": "acc-42", "action": "update_account",
                      "source_hash": "a".repeat(64)});
    let mut unsupported = base.clone();
    unsupported["industry"] = json!("software");
    assert!(
        !c.errors(&unsupported).is_empty(),
        "a value without evidence"
    );
    unsupported["evidence"] = json!({"employee_count": "We have 10 staff."});
    assert!(
        !c.errors(&unsupported).is_empty(),
        "evidence for another field"
    );
    unsupported["evidence"] = json!({"industry": "We build software."});
    assert!(
        c.errors(&unsupported).is_empty(),
        "{:?}",
        c.errors(&unsupported)
    );
    assert!(
        c.errors(&base).is_empty(),
        "reading nothing is valid (and not confident)"
    );
    let mut invented = unsupported.clone();
    invented["industry"] = json!("gambling");
    assert!(!c.errors(&invented).is_empty(), "not one of the industries");
}
