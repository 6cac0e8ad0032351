//! Interpreter-stage context: a provider declared with `stage =
//! "interpret"` is asked about the event's payload before the model, the
//! model is shown its answer as data in the prompt's `{{context}}`, and the
//! use is recorded with the interpretation. A provider that cannot answer
//! stops the execution for a person instead of the model guessing.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sluice_core::State;
use sluice_testkit::fake_model::Answer;

use crate::common::{Env, Variant, message, valid_contract};

/// A CRM stand-in (real HTTP) that answers what it holds for `from` and
/// remembers what it was asked.
async fn crm(answer: Value, status: u16) -> anyhow::Result<(String, Arc<Mutex<Vec<String>>>)> {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = asked.clone();
    let app = axum::Router::new().route(
        "/guests",
        axum::routing::get(
            move |axum::extract::RawQuery(query): axum::extract::RawQuery| {
                let (answer, seen) = (answer.clone(), seen.clone());
                async move {
                    seen.lock().unwrap().push(query.unwrap_or_default());
                    let status = axum::http::StatusCode::from_u16(status).unwrap();
                    (status, axum::Json(answer))
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/guests?phone={{from}}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, asked))
}

#[tokio::test]
async fn the_model_is_shown_what_the_provider_said_and_the_use_is_recorded() -> anyhow::Result<()> {
    let (url, asked) = crm(json!({ "vip": true, "usual_party": 4 }), 200).await?;
    let env = Env::start(Variant {
        context_url: Some(url),
        ..Variant::model()
    })
    .await?;
    let envelope = message("A table tomorrow at nine, the usual.");
    env.fake
        .default_answer(Answer::Json(valid_contract(&envelope)));
    env.submit(&envelope, "0").await?;
    let at_gate = env.wait_at_gate(&envelope, "0").await?;

    // Asked about the payload's sender, percent-encoded.
    assert_eq!(asked.lock().unwrap().as_slice(), ["phone=%2B34600000001"]);
    // The model saw the answer in the prompt.
    let calls = env.fake.calls();
    let prompt = calls[0].body["messages"][1]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        prompt.contains(
            r#"What the CRM knows about the guest: {"guest":{"usual_party":4,"vip":true}}"#
        ),
        "{prompt}"
    );
    // And the interpretation says what it was, from where.
    let i = at_gate.interpretation.expect("interpretation");
    assert_eq!(i.context.len(), 1);
    assert_eq!(i.context[0].name, "guest");
    assert!(i.context[0].from.ends_with("/guests"), "{:?}", i.context[0]);
    assert!(
        !i.context[0].from.contains("phone"),
        "no personal data: {:?}",
        i.context[0]
    );
    let journal = env.wait_for(&envelope, State::OutputValidated).await?;
    let completed = journal
        .iter()
        .find(|e| e.to_state == "MODEL_COMPLETED")
        .and_then(|e| e.detail.clone())
        .unwrap_or_default();
    assert_eq!(completed["context"][0]["name"], "guest", "{completed}");
    env.stop().await
}

#[tokio::test]
async fn a_provider_that_cannot_answer_stops_for_a_person() -> anyhow::Result<()> {
    let (url, _) = crm(json!({ "error": "down" }), 503).await?;
    let env = Env::start(Variant {
        context_url: Some(url),
        ..Variant::model()
    })
    .await?;
    let envelope = message("A table tomorrow at nine.");
    env.fake
        .default_answer(Answer::Json(valid_contract(&envelope)));
    env.submit(&envelope, "0").await?;
    let journal = env.wait_for(&envelope, State::NeedsReview).await?;
    let reason = journal
        .iter()
        .rev()
        .find_map(|e| e.detail.clone())
        .unwrap_or_default()
        .to_string();
    assert!(
        reason.contains("context guest could not be fetched"),
        "{reason}"
    );
    assert_eq!(env.fake.call_count(), 0, "the model was not asked");
    env.stop().await
}
