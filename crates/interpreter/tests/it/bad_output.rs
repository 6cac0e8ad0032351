//! Model output that is too big or says more than the contract allows: never
//! passed on. With a fallback the extractor answers; without one a person
//! reviews. In neither case does the extra text reach the gate.

use serde_json::json;
use sluice_testkit::fake_model::Answer;

use crate::common::{Env, Variant, message, valid_contract};

#[tokio::test]
async fn extra_fields_and_oversized_values_are_refused() -> anyhow::Result<()> {
    let env = Env::start(Variant::model()).await?;
    let envelope = message("A table for four tomorrow at nine, please.");
    let mut answer = valid_contract(&envelope);
    answer["discount"] = json!("100%");
    answer["name"] = json!("A".repeat(5_000));
    env.fake.default_answer(Answer::Json(answer));
    env.submit(&envelope, "0").await?;
    let i = env
        .wait_at_gate(&envelope, "0")
        .await?
        .interpretation
        .expect("interpretation");
    assert_eq!(i.backend, "rules", "the extractor answered instead");
    let reason = i.fallback_reason.unwrap_or_default();
    assert!(
        reason.contains("invalid after one repair") && reason.contains("/name"),
        "{reason}"
    );
    assert!(reason.len() < 1_000, "the reason does not carry the flood");
    assert!(i.contract.get("discount").is_none(), "{}", i.contract);
    assert_eq!(
        i.contract["name"],
        json!("Ana"),
        "from the payload, not the model"
    );
    assert!(
        !i.schema_failures.is_empty(),
        "the model's failure is recorded for the drift monitor"
    );
    env.stop().await
}

#[tokio::test]
async fn an_oversized_response_is_cut_off_and_the_fallback_answers() -> anyhow::Result<()> {
    let env = Env::start(Variant::model()).await?;
    let envelope = message("table for 4 tomorrow at 9pm");
    let flood = "{\"party_size\": 4, \"notes\": \"".to_owned() + &"x".repeat(2 << 20) + "\"}";
    env.fake.default_answer(Answer::Content(flood));
    env.submit(&envelope, "0").await?;
    let i = env
        .wait_at_gate(&envelope, "0")
        .await?
        .interpretation
        .expect("interpretation");
    assert_eq!(i.backend, "rules");
    let reason = i.fallback_reason.unwrap_or_default();
    assert!(reason.contains("byte limit"), "{reason}");
    assert_eq!(i.contract["party_size"], json!(4));
    env.stop().await
}

#[tokio::test]
async fn without_a_fallback_extra_fields_go_to_review() -> anyhow::Result<()> {
    let env = Env::start(Variant {
        fallback: false,
        ..Variant::model()
    })
    .await?;
    let envelope = message("table for 4 tomorrow at 9pm");
    let mut answer = valid_contract(&envelope);
    answer["refund_all"] = json!(true);
    env.fake.default_answer(Answer::Json(answer));
    env.submit(&envelope, "0").await?;
    env.wait_for(&envelope, sluice_core::State::NeedsReview)
        .await?;
    assert!(env.at_gate().await?.is_none(), "nothing reached the gate");
    env.stop().await
}
