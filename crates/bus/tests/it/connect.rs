//! Connecting by configuration.

use sluice_bus::{Bus, NatsOptions};
use sluice_testkit::TestNats;

#[tokio::test]
async fn connects_under_the_configured_prefix() -> anyhow::Result<()> {
    let nats = TestNats::new().await?;
    let options = NatsOptions {
        url: nats.url.clone(),
        prefix: nats.subjects.prefix().to_owned(),
        ..NatsOptions::default()
    };
    let bus = Bus::connect(&options, "sluice-test").await?;
    assert_eq!(bus.subjects(), &nats.subjects);
    Ok(())
}

#[tokio::test]
async fn an_unreachable_broker_is_named_in_the_error() {
    let options = NatsOptions {
        url: "nats://127.0.0.1:1".to_owned(),
        connect_timeout_ms: 1_000,
        ..NatsOptions::default()
    };
    let err = Bus::connect(&options, "sluice-test")
        .await
        .expect_err("nothing listens on port 1");
    assert!(
        err.to_string()
            .starts_with("cannot connect to NATS at nats://127.0.0.1:1"),
        "{err}"
    );

    let bad_prefix = NatsOptions {
        prefix: "a.b".to_owned(),
        ..NatsOptions::default()
    };
    assert!(Bus::connect(&bad_prefix, "sluice-test").await.is_err());
}
