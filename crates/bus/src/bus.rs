//! [`Bus`]: one connection, its JetStream context and the installation's
//! names, with the operations pipeline services need.

use async_nats::jetstream::{self, consumer::PullConsumer, message::StreamMessage};
use chrono::{DateTime, Utc};
use sluice_core::subjects::StreamKind;
use sluice_core::{Stage, Subjects};

use crate::Error;
use crate::consume::{ConsumeLoop, ConsumeOptions};
use crate::control::{self, PauseState};
use crate::dead_letter::{self, AdvisoryDeadLetter};
pub use crate::options::NatsOptions;
use crate::provision::{self, Provisioned};
use crate::publish::Publisher;
use crate::topology::Topology;

/// A NATS connection bound to one Sluice installation (one prefix).
#[derive(Debug, Clone)]
pub struct Bus {
    client: async_nats::Client,
    js: jetstream::Context,
    subjects: Subjects,
}

impl Bus {
    /// Connects as `client_name` (shown by the server's monitoring), or fails
    /// with an error naming the URL.
    ///
    /// Once connected, the client reconnects by itself forever: a broker
    /// restart is an outage to ride out, not a reason to exit.
    pub async fn connect(options: &NatsOptions, client_name: &str) -> Result<Self, Error> {
        let subjects = Subjects::new(options.prefix.clone())?;
        let client = options.connect(client_name).await?;
        Ok(Self::new(client, subjects))
    }

    /// Wraps a connected client; names come from `subjects`.
    pub fn new(client: async_nats::Client, subjects: Subjects) -> Self {
        let js = jetstream::new(client.clone());
        Self {
            client,
            js,
            subjects,
        }
    }

    /// The plain NATS client.
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// The JetStream context.
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    /// The installation's subject and resource names.
    pub fn subjects(&self) -> &Subjects {
        &self.subjects
    }

    /// Creates or reconciles every stream, the switches bucket and the
    /// consumers `topology` declares.
    ///
    /// Every step creates or checks, so the whole is retried while JetStream
    /// is not answering yet (a cluster still electing its meta leader, a
    /// server just restarted): about half a minute, then the error.
    pub async fn provision(&self, topology: &Topology) -> Result<Provisioned, Error> {
        use backon::{ExponentialBuilder, Retryable as _};
        let attempt = || provision::provision(&self.js, &self.subjects, topology);
        attempt
            .retry(
                ExponentialBuilder::default()
                    .with_min_delay(std::time::Duration::from_millis(200))
                    .with_max_delay(std::time::Duration::from_secs(3))
                    .with_max_times(12),
            )
            .when(Error::is_not_ready)
            .notify(|err, after| {
                tracing::warn!(error = %err, ?after, "JetStream not ready; provisioning again");
            })
            .await
    }

    /// A publisher for stage hand-offs.
    pub fn publisher(&self) -> Publisher {
        Publisher::new(self.js.clone(), self.subjects.clone())
    }

    /// The durable consumer `name` on the stream of `kind`.
    pub async fn pull_consumer(&self, kind: StreamKind, name: &str) -> Result<PullConsumer, Error> {
        let stream = self.subjects.stream(kind);
        let fail = |source: async_nats::Error| Error::Consumer {
            stream: stream.clone(),
            consumer: name.to_owned(),
            source,
        };
        let handle = self
            .js
            .get_stream_no_info(&stream)
            .await
            .map_err(|e| fail(e.into()))?;
        handle.get_consumer(name).await.map_err(fail)
    }

    /// The consume loop of `stage` for `workflow`, dead-lettering to
    /// `<prefix>.dlq.<stage>.<workflow>`.
    pub async fn stage_loop(
        &self,
        stage: Stage,
        workflow: &str,
        options: ConsumeOptions,
    ) -> Result<ConsumeLoop, Error> {
        let name = self.subjects.consumer(stage, workflow)?;
        let consumer = self.pull_consumer(StreamKind::Pipeline, &name).await?;
        let dlq = self.subjects.dead_letter(stage, workflow)?;
        ConsumeLoop::new(self.js.clone(), consumer, dlq, options)
    }

    /// The consume loop of NATS ingest for `source`, dead-lettering to
    /// `<prefix>.dlq.ingest.<source>`.
    pub async fn ingest_loop(
        &self,
        source: &str,
        options: ConsumeOptions,
    ) -> Result<ConsumeLoop, Error> {
        let name = self.subjects.consumer(Stage::Ingest, source)?;
        let consumer = self.pull_consumer(StreamKind::Ingest, &name).await?;
        let dlq = self.subjects.dead_letter(Stage::Ingest, source)?;
        ConsumeLoop::new(self.js.clone(), consumer, dlq, options)
    }

    /// Pauses the consumer of `stage` for `workflow` until `until`.
    pub async fn pause_stage(
        &self,
        stage: Stage,
        workflow: &str,
        until: DateTime<Utc>,
    ) -> Result<PauseState, Error> {
        let (stream, consumer) = self.stage_consumer_names(stage, workflow)?;
        control::pause_consumer(&self.js, &stream, &consumer, until).await
    }

    /// Resumes the consumer of `stage` for `workflow`.
    pub async fn resume_stage(&self, stage: Stage, workflow: &str) -> Result<PauseState, Error> {
        let (stream, consumer) = self.stage_consumer_names(stage, workflow)?;
        control::resume_consumer(&self.js, &stream, &consumer).await
    }

    /// Whether the consumer of `stage` for `workflow` is paused now.
    pub async fn stage_paused(&self, stage: Stage, workflow: &str) -> Result<bool, Error> {
        let (stream, consumer) = self.stage_consumer_names(stage, workflow)?;
        Ok(control::pause_state(&self.js, &stream, &consumer)
            .await?
            .paused)
    }

    /// Reads a stored message by stream and sequence.
    pub async fn stored_message(
        &self,
        stream: &str,
        sequence: u64,
    ) -> Result<StreamMessage, Error> {
        dead_letter::stored_message(&self.js, stream, sequence).await
    }

    /// The advisory dead-letter path for this installation.
    pub fn advisory_dead_letter(&self) -> AdvisoryDeadLetter {
        AdvisoryDeadLetter::new(self.js.clone(), self.subjects.clone())
    }

    fn stage_consumer_names(
        &self,
        stage: Stage,
        workflow: &str,
    ) -> Result<(String, String), Error> {
        let kind = if stage == Stage::Ingest {
            StreamKind::Ingest
        } else {
            StreamKind::Pipeline
        };
        Ok((
            self.subjects.stream(kind),
            self.subjects.consumer(stage, workflow)?,
        ))
    }
}
