//! The happy paths: a valid model answer, the offline rules backend, and
//! redelivery reusing the stored interpretation.

use serde_json::json;
use sluice_testkit::fake_model::Answer;

use crate::common::{Env, Variant, message, path, valid_contract};

#[tokio::test]
async fn a_valid_model_answer_goes_to_the_gate_with_its_provenance() -> anyhow::Result<()> {
    let env = Env::start(Variant::model()).await?;
    let envelope = message("I would like a table for four tomorrow at nine.");
    // Scripted by prompt hash: only the exact rendered prompt gets this answer.
    env.fake.script(
        env.prompt_hash_for(&envelope).as_str(),
        Answer::Json(valid_contract(&envelope)),
    );
    env.submit(&envelope, "0").await?;

    let at_gate = env.wait_at_gate(&envelope, "0").await?;
    let i = at_gate.interpretation.expect("interpretation");
    assert_eq!(i.backend, "fake");
    assert_eq!(i.model.as_deref(), Some("fake-1"));
    assert_eq!(i.fallback_reason, None);
    assert_eq!(i.contract["party_size"], json!(4));
    assert_eq!(i.contract["time"], json!("21:00"));
    assert!(i.contract.get("notes").is_none(), "null fields are omitted");
    assert_eq!(i.proposed_action.as_deref(), Some("create_booking"));
    assert_eq!(i.prompt_version, "v1");
    assert_eq!(i.prompt_sha256, env.workflow().prompt.sha256);
    let usage = i.usage.expect("usage recorded");
    assert_eq!(usage.prompt_tokens, 100);
    assert!(usage.cost_usd > 0.0);
    assert!(
        i.confidence >= 0.85,
        "agrees with the deterministic reading: {}",
        i.confidence
    );

    let calls = env.fake.calls();
    assert_eq!(calls.len(), 1);
    let body = &calls[0].body;
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["strict"], true);
    assert_eq!(body["max_tokens"], 512);
    assert_eq!(calls[0].authorization.as_deref(), Some("Bearer sk-test"));

    let (state, journal) = env.state_and_journal(&envelope).await?;
    assert_eq!(state, "OUTPUT_VALIDATED");
    assert_eq!(
        path(&journal),
        [
            "RECEIVED",
            "VALIDATED",
            "MODEL_REQUESTED",
            "MODEL_COMPLETED",
            "OUTPUT_VALIDATED"
        ]
    );
    let completed = journal[3].detail.clone().expect("detail");
    for field in [
        "backend",
        "model",
        "prompt_version",
        "prompt_sha256",
        "latency_ms",
        "usage",
    ] {
        assert!(
            !completed[field].is_null(),
            "MODEL_COMPLETED detail lacks {field}: {completed}"
        );
    }
    env.stop().await
}

#[tokio::test]
async fn redelivery_and_replay_reuse_the_stored_interpretation() -> anyhow::Result<()> {
    let env = Env::start(Variant::model()).await?;
    let envelope = message("A table for two tomorrow at 8pm");
    let mut answer = valid_contract(&envelope);
    answer["party_size"] = json!(2);
    env.fake.default_answer(Answer::Json(answer));
    env.submit(&envelope, "0").await?;
    let first = env
        .wait_at_gate(&envelope, "0")
        .await?
        .interpretation
        .expect("first");

    // The model would now answer differently; a later pass must not ask it.
    env.fake
        .default_answer(Answer::Json(valid_contract(&envelope)));
    env.republish(&envelope, "replay:1").await?;
    let second = env
        .wait_at_gate(&envelope, "replay:1")
        .await?
        .interpretation
        .expect("second");
    assert_eq!(second, first, "the stored interpretation, not a new answer");
    assert_eq!(second.contract["party_size"], json!(2));
    assert_eq!(env.fake.call_count(), 1, "the model was asked once");
    let (_, journal) = env.state_and_journal(&envelope).await?;
    assert_eq!(journal.len(), 5, "no repeated transitions");
    env.stop().await
}

#[tokio::test]
async fn the_offline_rules_backend_reads_the_shipped_example() -> anyhow::Result<()> {
    let env = Env::start(Variant::shipped()).await?;
    let envelope = message("I would like a table for four tomorrow at nine.");
    env.submit(&envelope, "0").await?;
    let i = env
        .wait_at_gate(&envelope, "0")
        .await?
        .interpretation
        .expect("interpretation");
    assert_eq!(i.backend, "rules");
    assert_eq!(i.fallback_reason, None);
    assert_eq!(
        (
            i.contract["party_size"].clone(),
            i.contract["date"].clone(),
            i.contract["time"].clone()
        ),
        (json!(4), json!("2026-11-24"), json!("21:00"))
    );
    assert!(
        i.field_confidence["time"] < i.field_confidence["party_size"],
        "a bare hour is less certain"
    );
    assert_eq!(i.contract["name"], json!("Ana"));
    assert_eq!(env.fake.call_count(), 0);
    env.stop().await
}

#[tokio::test]
async fn missing_fields_give_a_valid_partial_contract() -> anyhow::Result<()> {
    let env = Env::start(Variant::model()).await?;
    let envelope = message("a table please");
    env.fake.default_answer(Answer::Json(json!({
        "channel": "whatsapp", "message_id": envelope.data["id"], "sender": "+34600000001",
        "action": "create_booking", "date": null, "time": null, "party_size": null,
    })));
    env.submit(&envelope, "0").await?;
    let i = env
        .wait_at_gate(&envelope, "0")
        .await?
        .interpretation
        .expect("interpretation");
    assert_eq!(
        i.backend, "fake",
        "a partial contract is valid: the gate asks for the rest"
    );
    for field in ["party_size", "date", "time"] {
        assert!(
            i.contract.get(field).is_none(),
            "{field} is omitted: {}",
            i.contract
        );
    }
    assert_eq!(env.fake.call_count(), 1);
    env.stop().await
}
