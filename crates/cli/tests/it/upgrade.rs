//! Rolling upgrades: a reader accepts every envelope version from the
//! oldest supported (`MIN_READABLE_VERSION`, N−1 once the envelope has a
//! version 2) to the current one; a message outside that range is refused
//! with a dead-letter reason that says which side is out of step.

use std::time::Duration;

use serde_json::Value;
use sluice_bus::Publisher;
use sluice_core::envelope::{ENVELOPE_VERSION, MIN_READABLE_VERSION};
use sluice_core::{Envelope, ExecutionId, Stage, State};
use sluice_ledger::{ClientOptions, LedgerClient};
use sluice_testkit::eventually::{check, eventually};

use crate::cli::ok;
use crate::stack::Env;

/// The envelope as the oldest supported release wrote it, with the ids of
/// this run filled in.
fn oldest_supported(event_id: &str) -> anyhow::Result<Envelope> {
    let id = ExecutionId::derive("whatsapp", event_id, "reservation");
    let text = include_str!("fixtures/envelope-v1.json")
        .replace("EXECUTION_ID", &id.to_string())
        .replace("RECEIVED_AT", &chrono::Utc::now().to_rfc3339())
        .replace("wamid.envelope-v1", event_id);
    let json: Value = serde_json::from_str(&text)?;
    assert_eq!(json["version"], u64::from(MIN_READABLE_VERSION));
    Ok(Envelope::decode(text.as_bytes())?)
}

/// Records what ingest records before handing an envelope on.
async fn received(ledger: &LedgerClient, envelope: &Envelope) -> anyhow::Result<()> {
    sluice_testkit::pipeline::record_path(ledger, envelope, &[State::Received, State::Validated])
        .await
}

#[tokio::test]
async fn the_oldest_supported_envelope_is_read_and_others_are_refused() -> anyhow::Result<()> {
    let env = Env::start(Duration::from_secs(60)).await?;
    let ledger = LedgerClient::connect(ClientOptions::new(format!("http://{}", env.stack.ledger)))?;
    let publisher = Publisher::new(env.nats.jetstream.clone(), env.nats.subjects.clone());

    let old = oldest_supported("wamid.v-oldest")?;
    received(&ledger, &old).await?;
    publisher
        .envelope_to_stage(&old, Stage::Interpret, "0", None)
        .await?;
    env.settles_in(&old.execution_id.to_string(), "COMPLETED")
        .await?;

    for (version, why) in [
        (
            MIN_READABLE_VERSION - 1,
            "older than any release still supported",
        ),
        (ENVELOPE_VERSION + 1, "written by a newer release"),
    ] {
        let mut envelope = oldest_supported(&format!("wamid.v{version}"))?;
        envelope.version = version;
        publisher
            .envelope_to_stage(&envelope, Stage::Interpret, "0", None)
            .await?;
        let reason = eventually(
            &format!("version {version} dead-lettered"),
            Duration::from_secs(30),
            || async {
                let out = ok(&env.sluice(&["dlq", "list", "--json"]).await);
                let json: Value = serde_json::from_str(&out)?;
                let entry = json["dead_letters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|e| e["execution_id"] == envelope.execution_id.to_string())
                    .cloned();
                check(entry.is_some(), || "not yet".to_owned())?;
                Ok(entry.map(|e| e["reason"].as_str().unwrap_or_default().to_owned()))
            },
        )
        .await?
        .unwrap_or_default();
        let expected = format!("envelope version {version} is not readable by this build");
        assert!(
            reason.contains(&expected) && reason.contains(why),
            "{reason}"
        );
    }
    env.stop().await
}
