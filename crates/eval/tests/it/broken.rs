//! A broken extractor fails the eval.
//!
//! The bug is a realistic one: relative dates resolved against the UTC
//! date instead of the restaurant's. The broken extractor is registered
//! under the shipped extractor's name, so the workflow and its cases are
//! exactly the shipped ones; only the plug-in differs.

use chrono::TimeZone as _;
use serde_json::{Map, Value};
use sluice_eval::{BackendChoice, EvalWorkflow};
use sluice_interpreter::Registry;
use sluice_interpreter::rules::reservation::ReservationExtractor;
use sluice_interpreter::rules::{ExtractInput, Extraction, Extractor};

use crate::{baseline, cases, failures, reservation};

#[derive(Debug)]
struct UtcDates;

impl Extractor for UtcDates {
    fn fixed_fields(&self, source: &str, payload: &Value) -> Map<String, Value> {
        ReservationExtractor.fixed_fields(source, payload)
    }

    fn message_text(&self, payload: &Value) -> String {
        ReservationExtractor.message_text(payload)
    }

    fn extract(&self, input: &ExtractInput<'_>) -> Extraction {
        let mut input = input.clone();
        // The UTC wall clock taken for the local one.
        if let Some(wrong) = input
            .now
            .timezone()
            .from_local_datetime(&input.now.naive_utc())
            .earliest()
        {
            input.now = wrong;
        }
        ReservationExtractor.extract(&input)
    }
}

#[tokio::test]
async fn dates_resolved_in_utc_are_a_regression() {
    let mut registry = Registry::with_builtin();
    registry.register("reservation", std::sync::Arc::new(UtcDates));
    let workflow = EvalWorkflow::load(&reservation(), BackendChoice::Rules, &registry).unwrap();
    let report = workflow.run(&cases()).await.unwrap();
    let failures = failures(&report, &baseline("rules"));
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].contains("regression beyond 2.0 points"),
        "{failures:?}"
    );
    assert!(failures[0].contains("date "), "{failures:?}");
    let failing: Vec<&str> = report
        .cases
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.id.as_str())
        .collect();
    for id in [
        "today-utc-vs-local",
        "dst-spring-after-change",
        "dst-autumn-tonight",
    ] {
        assert!(failing.contains(&id), "{id} should fail: {failing:?}");
    }
}
