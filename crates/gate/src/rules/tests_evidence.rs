//! `evidence_in_source` on the shipped crm-enrichment workflow: quotes
//! found in the payload's text pass, an invented one sends the reading to a
//! person.

use std::path::Path;

use chrono::Utc;
use serde_json::{Value, json};
use sluice_core::WorkflowSpec;

use super::{Facts, Policy, Route, evaluate};

fn policy() -> Policy {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows/crm-enrichment");
    Policy::new(WorkflowSpec::load(&dir).expect("crm spec")).expect("policy")
}

fn payload() -> Value {
    json!({
        "id": "evt-1", "account_id": "acc-42",
        "website_text": "Acme Robotics builds industrial machinery.\nHeadquartered in Munich,   Germany, we have 120 employees.",
        "sales_notes": "Annual revenue of about €25 million.",
    })
}

fn routed(evidence: Value) -> (Route, String) {
    let contract = json!({
        "account_id": "acc-42", "source_hash": "0".repeat(64), "action": "update_account",
        "industry": "manufacturing", "employee_count": 120, "evidence": evidence,
    });
    let mut interpretation =
        sluice_testkit::pipeline::interpretation(contract, 0.95, "update_account");
    interpretation.backend = "fake".into();
    let data = payload();
    let facts = Facts {
        source: "crm",
        data: &data,
        interpretation: &interpretation,
        now: Utc::now(),
        switched_off: None,
        sample: 0.5,
        context: None,
    };
    let e = evaluate(&policy(), &facts);
    let detail = e
        .decision
        .rules
        .iter()
        .find(|r| r.rule == "evidence_in_source")
        .map(|r| r.detail.clone())
        .unwrap_or_default();
    (e.route, detail)
}

#[test]
fn quotes_from_the_text_pass_across_line_breaks_and_spacing() {
    let (route, detail) = routed(json!({
        "industry": "Acme Robotics builds industrial machinery.",
        "employee_count": "Headquartered in Munich, Germany, we have 120 employees.",
    }));
    assert_eq!(route, Route::Auto, "{detail}");
    let (route, _) = routed(json!({ "employee_count": "Headquartered in Munich, Ger…" }));
    assert_eq!(
        route,
        Route::Auto,
        "a quote cut short matches up to the cut"
    );
}

#[test]
fn an_invented_quote_goes_to_review_naming_the_field() {
    let (route, detail) = routed(json!({
        "industry": "Acme Robotics builds industrial machinery.",
        "employee_count": "We have 5,000 employees worldwide.",
    }));
    assert_eq!(route, Route::Review);
    assert!(
        detail.contains("employee_count") && !detail.contains("industry"),
        "{detail}"
    );
    let (route, _) = routed(json!({ "industry": 42 }));
    assert_eq!(
        route,
        Route::Review,
        "a quote that is not text supports nothing"
    );
}
