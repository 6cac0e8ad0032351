//! The shipped extractor against the shipped cases.

use sluice_eval::{BackendChoice, EvalWorkflow, Outcome};
use sluice_interpreter::Registry;

use crate::{baseline, cases, failures, reservation};

#[tokio::test]
async fn the_extractor_holds_its_baseline_and_fails_only_where_it_is_known_to() {
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let workflow = EvalWorkflow::load(
        &reservation(),
        BackendChoice::Rules,
        &Registry::with_builtin(),
    )
    .unwrap();
    let report = workflow.run(&cases).await.unwrap();
    assert_eq!(report.backend, "rules");
    assert_eq!(report.prompt_version, "v1");
    assert_eq!(failures(&report, &baseline("rules")), Vec::<String>::new());
    // The marks stay honest both ways: an unmarked failure is a regression
    // to look at; a marked case that passes should lose its mark.
    let wrong_marks: Vec<String> = report
        .cases
        .iter()
        .filter(|c| c.passed == c.known_failure)
        .map(|c| format!("{} (passed: {})", c.id, c.passed))
        .collect();
    assert!(wrong_marks.is_empty(), "{wrong_marks:?}");
}

#[tokio::test]
async fn every_case_sees_the_interpreter_and_the_gate() {
    let cases = cases();
    let workflow = EvalWorkflow::load(
        &reservation(),
        BackendChoice::Rules,
        &Registry::with_builtin(),
    )
    .unwrap();
    let report = workflow.run(&cases).await.unwrap();
    for (case, result) in cases.iter().zip(&report.cases) {
        assert!(
            case.expected.outcome.is_some(),
            "{}: no expected outcome",
            case.id
        );
        assert!(
            result.fields.iter().any(|f| f.field == "outcome"),
            "{}",
            case.id
        );
        // The rendered prompt was hashed for every case: a fake model script
        // can be keyed by it.
        assert_eq!(result.prompt_sha256.as_ref().map(String::len), Some(64));
    }
    let uninterpretable = report
        .cases
        .iter()
        .find(|c| c.id == "party-absurd")
        .and_then(|c| c.review_reason.clone())
        .unwrap_or_default();
    assert!(uninterpretable.contains("invalid"), "{uninterpretable}");
    let clarify = cases
        .iter()
        .filter(|c| c.expected.outcome == Some(Outcome::Clarify))
        .count();
    assert!(clarify >= 10, "{clarify} clarify cases");
}
