//! The CRM-enrichment extractor against its shipped cases: it holds its
//! baseline, its known failures are marked both ways, and the cases cover
//! every route the gate can take for an enrichment.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sluice_eval::{BackendChoice, Baseline, EvalWorkflow, Outcome};
use sluice_interpreter::Registry;

use crate::failures;

fn crm() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows/crm-enrichment")
}

#[tokio::test]
async fn the_crm_extractor_holds_its_baseline_over_every_route() {
    let cases = sluice_eval::load_cases(&crm().join("eval")).unwrap();
    assert!(cases.len() >= 20, "{} cases", cases.len());
    let workflow =
        EvalWorkflow::load(&crm(), BackendChoice::Rules, &Registry::with_builtin()).unwrap();
    let report = workflow.run(&cases).await.unwrap();
    let baseline = Baseline::load(&crm().join("eval/baseline.rules.json"))
        .unwrap()
        .expect("a committed baseline");
    assert_eq!(failures(&report, &baseline), Vec::<String>::new());
    let wrong_marks: Vec<&str> = report
        .cases
        .iter()
        .filter(|c| c.passed == c.known_failure)
        .map(|c| c.id.as_str())
        .collect();
    assert!(wrong_marks.is_empty(), "{wrong_marks:?}");
    let routes: BTreeSet<String> = cases
        .iter()
        .filter_map(|c| c.expected.outcome)
        .map(|o| o.label(&[]))
        .collect();
    for want in [Outcome::Auto, Outcome::Review, Outcome::Exception] {
        assert!(
            routes.contains(&want.label(&[])),
            "no {want:?} case: {routes:?}"
        );
    }
    let categories: BTreeSet<&str> = cases.iter().map(|c| c.category.as_str()).collect();
    for want in ["clear", "conflict", "injection", "garbage", "missing"] {
        assert!(categories.contains(want), "no {want} case");
    }
}
