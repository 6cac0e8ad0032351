//! A private corner of the shared test broker.

use anyhow::Context as _;
use async_nats::jetstream;
use futures::TryStreamExt as _;
use sluice_core::Subjects;

/// The broker used by tests unless `SLUICE_TEST_NATS_URL` says otherwise:
/// the nats-server 2.15 that `scripts/dev-up.sh` runs.
pub const DEFAULT_URL: &str = "nats://127.0.0.1:4223";

/// A connection plus a prefix no other test uses.
pub struct TestNats {
    /// The broker URL.
    pub url: String,
    /// A plain client.
    pub client: async_nats::Client,
    /// A JetStream context over `client`.
    pub jetstream: jetstream::Context,
    /// Subject and stream names under this test's prefix.
    pub subjects: Subjects,
}

impl TestNats {
    /// Connects to the test broker and picks a fresh prefix.
    pub async fn new() -> anyhow::Result<Self> {
        let url = std::env::var("SLUICE_TEST_NATS_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
        let client = async_nats::connect(&url).await.with_context(|| {
            format!("cannot reach NATS at {url}: run scripts/dev-up.sh (needs nats-server >= 2.11)")
        })?;
        let jetstream = jetstream::new(client.clone());
        let subjects = Subjects::new(crate::unique_token())?;
        Ok(Self {
            url,
            client,
            jetstream,
            subjects,
        })
    }

    /// Deletes every stream and KV bucket under this test's prefix. Call it at
    /// the end of a test; streams also expire by max age if a test dies first.
    pub async fn cleanup(&self) -> anyhow::Result<()> {
        let stream_prefix = format!("{}_", self.subjects.prefix().to_ascii_uppercase());
        // Every KV bucket of the prefix (`<prefix>-switches`, …) is a stream `KV_<bucket>`.
        let bucket_streams = format!("KV_{}-", self.subjects.prefix());
        let names: Vec<String> = self.jetstream.stream_names().try_collect().await?;
        for name in names {
            if name.starts_with(&stream_prefix) || name.starts_with(&bucket_streams) {
                self.jetstream.delete_stream(&name).await?;
            }
        }
        Ok(())
    }
}
