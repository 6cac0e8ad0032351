//! What the interpreter writes to its logs, through the JSON layer every
//! service uses: each line carries the ids of the execution it is about, and
//! never the prompt or a personal field's value.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;
use sluice_testkit::fake_model::Answer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;

use crate::common::{Env, SENDER, Variant, message, valid_contract};

const GUEST: &str = "Ximena Quintanilla";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn lines(&self) -> Vec<Value> {
        let bytes = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(|l| serde_json::from_str(l).expect("every log line is JSON"))
            .collect()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

// A current-thread runtime: every task of the stage runs on this thread, so
// the thread's default subscriber sees all of their events.
#[tokio::test]
async fn log_lines_carry_the_ids_and_redact_personal_fields() -> anyhow::Result<()> {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::registry()
        .with(sluice_runtime::telemetry::json_layer(logs.clone()))
        .with(tracing_subscriber::EnvFilter::new("info"));
    let _default = tracing::subscriber::set_default(subscriber);

    let env = Env::start(Variant::model()).await?;
    let mut envelope = message("A table for four tomorrow at nine, please.");
    envelope.data["name"] = GUEST.into();
    let mut answer = valid_contract(&envelope);
    answer["name"] = GUEST.into();
    env.fake.script(
        env.prompt_hash_for(&envelope).as_str(),
        Answer::Json(answer),
    );
    env.submit(&envelope, "0").await?;
    env.wait_at_gate(&envelope, "0").await?;
    let prompt = env.workflow().prompt.text.clone();
    env.stop().await?;

    let lines = logs.lines();
    let interpreted = lines
        .iter()
        .find(|l| l["message"] == "interpreted")
        .expect("the interpreter logs what it understood");
    let span = &interpreted["span"];
    assert_eq!(span["execution_id"], envelope.execution_id.to_string());
    assert_eq!(span["correlation_id"], envelope.correlation_id.as_str());
    assert_eq!(span["workflow"], "reservation");
    assert_eq!(span["stage"], "interpret");
    let contract: Value = serde_json::from_str(interpreted["contract"].as_str().unwrap_or("{}"))?;
    assert_eq!(contract["name"], "[redacted]");
    assert_eq!(contract["sender"], "[redacted]");
    assert_eq!(contract["party_size"], 4, "business fields stay readable");

    let all = lines
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!all.contains(GUEST), "a guest's name reached the logs");
    assert!(
        !all.contains(SENDER.trim_start_matches('+')),
        "a phone number reached the logs"
    );
    assert!(
        !all.contains("A table for four"),
        "the guest's message reached the logs"
    );
    let first_line = prompt.lines().find(|l| l.len() > 20).unwrap_or_default();
    assert!(!all.contains(first_line), "the prompt reached the logs");
    Ok(())
}
