//! The bus's error type.

use async_nats::jetstream::context::PublishError;

impl Error {
    /// Whether JetStream did not answer in time or is not serving yet (no
    /// responders, no meta leader): worth asking again, unlike a refusal.
    pub fn is_not_ready(&self) -> bool {
        let source = match self {
            Error::Stream { source, .. }
            | Error::Consumer { source, .. }
            | Error::Bucket { source, .. } => source.to_string(),
            _ => return false,
        };
        [
            "timed out",
            "no responders",
            "not enabled",
            "temporarily unavailable",
        ]
        .iter()
        .any(|hint| source.contains(hint))
    }
}

/// Everything that can go wrong talking to JetStream through the bus.
///
/// Variants say *which* resource failed so that a service's log line (and an
/// SRE reading it) knows where to look; the underlying client error is kept as
/// the source.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The broker could not be reached at start-up.
    #[error("cannot connect to NATS at {url}: {reason}")]
    Connect {
        /// The URL tried.
        url: String,
        /// Why, on one line.
        reason: String,
    },

    /// A subject or resource name could not be built (invalid workflow,
    /// source or prefix token).
    #[error(transparent)]
    Names(#[from] sluice_core::Error),

    /// A publish was refused, or its server acknowledgement never arrived.
    #[error("publishing to {subject}: {source}")]
    Publish {
        /// The subject published to.
        subject: String,
        /// The client's error (its kind tells timeouts from missing streams).
        #[source]
        source: PublishError,
    },

    /// Creating, updating or reading a stream failed.
    #[error("stream {stream}: {source}")]
    Stream {
        /// The stream name.
        stream: String,
        /// The client's error.
        #[source]
        source: async_nats::Error,
    },

    /// Creating, updating, reading, pausing or resuming a consumer failed.
    #[error("consumer {consumer} on stream {stream}: {source}")]
    Consumer {
        /// The stream the consumer reads.
        stream: String,
        /// The consumer name.
        consumer: String,
        /// The client's error.
        #[source]
        source: async_nats::Error,
    },

    /// Creating or updating a key-value bucket failed.
    #[error("key-value bucket {bucket}: {source}")]
    Bucket {
        /// The bucket name.
        bucket: String,
        /// The client's error.
        #[source]
        source: async_nats::Error,
    },

    /// Reading a stored message by sequence failed (it may have aged out).
    #[error("message {sequence} of stream {stream}: {source}")]
    StoredMessage {
        /// The stream name.
        stream: String,
        /// The stream sequence asked for.
        sequence: u64,
        /// The client's error.
        #[source]
        source: async_nats::Error,
    },

    /// An acknowledgement (ack, nak, term, progress) could not be sent or was
    /// not confirmed by the server.
    #[error("acknowledging ({what}): {source}")]
    Ack {
        /// Which acknowledgement.
        what: &'static str,
        /// The client's error.
        #[source]
        source: async_nats::Error,
    },

    /// A delivered message did not carry JetStream metadata (no `$JS.ACK`
    /// reply subject), so it cannot be acked or dead-lettered by sequence.
    #[error("not a JetStream delivery: {0}")]
    NotJetStream(#[source] async_nats::Error),

    /// A JetStream advisory could not be parsed.
    #[error("invalid JetStream advisory: {0}")]
    Advisory(#[source] serde_json::Error),

    /// No dead-letter subject could be derived for a message: it carries no
    /// `Sluice-Stage`/`Sluice-Workflow` headers and its subject is not a
    /// Sluice stage or ingest subject.
    #[error("cannot route a dead letter for subject {subject}")]
    Unroutable {
        /// The original subject.
        subject: String,
    },

    /// A configuration value is out of range.
    #[error("invalid bus configuration: {0}")]
    Config(String),
}

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn only_an_unanswered_jetstream_is_worth_asking_again() {
        let stream = |why: &str| Error::Stream {
            stream: "SLUICE_INGEST".into(),
            source: why.into(),
        };
        assert!(stream("jetstream request timed out").is_not_ready());
        assert!(stream("JetStream system temporarily unavailable").is_not_ready());
        assert!(
            !stream("stream name already in use with a different configuration").is_not_ready()
        );
        assert!(
            !Error::Connect {
                url: "x".into(),
                reason: "timed out".into()
            }
            .is_not_ready()
        );
    }
}
