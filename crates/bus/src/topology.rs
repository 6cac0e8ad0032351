//! The typed description of what [`provision`](crate::provision::provision) creates.
//!
//! Libraries take typed config (services map their own config files onto
//! these structs), so nothing here reads the environment or a file.

use std::collections::HashMap;
use std::time::Duration;

use sluice_core::Stage;
use sluice_core::subjects::StreamKind;

use crate::Error;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// Limits of one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamSettings {
    /// Replicas (1 on a single server, 3 in a production cluster).
    pub replicas: usize,
    /// How long a message stays in the stream. Limits retention keeps acked
    /// messages readable by sequence until then, for dead-lettering, audit
    /// and invariant checks.
    pub max_age: Duration,
    /// How long JetStream remembers a `Nats-Msg-Id` to drop duplicates.
    pub duplicate_window: Duration,
}

impl StreamSettings {
    /// A stream kept for `max_age` with a `duplicate_window` dedupe window,
    /// one replica.
    pub const fn new(max_age: Duration, duplicate_window: Duration) -> Self {
        Self {
            replicas: 1,
            max_age,
            duplicate_window,
        }
    }
}

/// Per-stream limits for the five Sluice streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamsConfig {
    /// `…_INGEST`.
    pub ingest: StreamSettings,
    /// `…_PIPELINE`.
    pub pipeline: StreamSettings,
    /// `…_DLQ`. Its duplicate window is long on purpose: the advisory path may
    /// re-report a message the bus already dead-lettered long after the fact
    /// (the dead-letter service was down), and `dlq:<stream>:<seq>` must
    /// still be recognised as a duplicate then.
    pub dead_letter: StreamSettings,
    /// `…_ADVISORIES`.
    pub advisories: StreamSettings,
    /// `…_EVENTS`.
    pub events: StreamSettings,
}

impl Default for StreamsConfig {
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        Self {
            ingest: StreamSettings::new(7 * DAY, minutes(10)),
            pipeline: StreamSettings::new(7 * DAY, minutes(10)),
            dead_letter: StreamSettings::new(30 * DAY, DAY),
            advisories: StreamSettings::new(7 * DAY, minutes(2)),
            events: StreamSettings::new(7 * DAY, minutes(2)),
        }
    }
}

impl StreamsConfig {
    /// The settings of `kind`.
    pub const fn get(&self, kind: StreamKind) -> StreamSettings {
        match kind {
            StreamKind::Ingest => self.ingest,
            StreamKind::Pipeline => self.pipeline,
            StreamKind::DeadLetter => self.dead_letter,
            StreamKind::Advisories => self.advisories,
            StreamKind::Events => self.events,
        }
    }

    /// Sets every stream's replica count (1 locally, 3 in a cluster).
    pub fn with_replicas(mut self, replicas: usize) -> Self {
        for s in [
            &mut self.ingest,
            &mut self.pipeline,
            &mut self.dead_letter,
            &mut self.advisories,
            &mut self.events,
        ] {
            s.replicas = replicas;
        }
        self
    }
}

/// Delivery limits of one durable consumer. All of them can be changed on an
/// existing consumer, so re-provisioning reconciles them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerSettings {
    /// How long a delivery may stay unacknowledged before JetStream redelivers
    /// it. Long handlers keep it alive with in-progress acks.
    pub ack_wait: Duration,
    /// Deliveries before the message is given up; the consume loop
    /// dead-letters on the last one itself.
    pub max_deliver: u32,
    /// Unacknowledged deliveries outstanding across all replicas.
    pub max_ack_pending: u32,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        Self {
            ack_wait: Duration::from_secs(30),
            max_deliver: 5,
            max_ack_pending: 1000,
        }
    }
}

/// What to provision: the workflows and sources that need consumers, and the
/// limits of every stream and consumer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Topology {
    /// Declared workflows; each gets one consumer per pipeline stage.
    pub workflows: Vec<String>,
    /// Declared sources arriving over NATS; each gets an ingest consumer.
    pub sources: Vec<String>,
    /// Stream limits.
    pub streams: StreamsConfig,
    /// Consumer limits unless a stage overrides them.
    pub consumers: ConsumerSettings,
    /// Per-stage overrides (e.g. a longer `ack_wait` for `execute`).
    pub stage_consumers: HashMap<Stage, ConsumerSettings>,
    /// Replicas of the kill-switch and conversation buckets.
    pub switches_replicas: usize,
    /// How long an open clarification waits for the user's answer; the
    /// default (`None`) is a day.
    pub conversation_ttl: Option<Duration>,
}

impl Topology {
    /// A topology for these workflows and sources with default limits.
    pub fn new<W, S>(workflows: W, sources: S) -> Self
    where
        W: IntoIterator,
        W::Item: Into<String>,
        S: IntoIterator,
        S::Item: Into<String>,
    {
        Self {
            workflows: workflows.into_iter().map(Into::into).collect(),
            sources: sources.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// The consumer limits that apply to `stage`.
    pub fn consumer_settings(&self, stage: Stage) -> ConsumerSettings {
        self.stage_consumers
            .get(&stage)
            .copied()
            .unwrap_or(self.consumers)
    }

    /// Refuses limits JetStream would reject or that would break delivery
    /// guarantees, before anything is sent to the server.
    pub fn validate(&self) -> Result<(), Error> {
        for kind in StreamKind::ALL {
            let s = self.streams.get(kind);
            if s.max_age.is_zero() {
                // Limits retention without an age would keep everything forever.
                return Err(Error::Config(format!(
                    "{kind:?} stream: max_age must be set"
                )));
            }
            if s.duplicate_window > s.max_age {
                return Err(Error::Config(format!(
                    "{kind:?} stream: duplicate_window exceeds max_age"
                )));
            }
        }
        let all = std::iter::once(self.consumers).chain(self.stage_consumers.values().copied());
        for c in all {
            if c.ack_wait.is_zero() || c.max_deliver == 0 || c.max_ack_pending == 0 {
                return Err(Error::Config(
                    "consumers: ack_wait, max_deliver and max_ack_pending must be positive".into(),
                ));
            }
        }
        Ok(())
    }
}
