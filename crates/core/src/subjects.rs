//! NATS subject, stream and KV bucket names.
//!
//! Every name is built under one prefix (`sluice` in production) so that a
//! test — or a second installation on the same broker — gets its own
//! subjects, streams and consumers and can never see another's messages.

use serde::{Deserialize, Serialize};

use crate::error::validate_name;
use crate::{Error, Stage};

/// The streams Sluice provisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamKind {
    /// Upstream events published to `<prefix>.in.<source>.…`.
    Ingest,
    /// Stage hand-offs `<prefix>.stage.<stage>.<workflow>`.
    Pipeline,
    /// Dead letters `<prefix>.dlq.<stage>.<workflow>`.
    DeadLetter,
    /// Captured JetStream max-deliveries and terminated advisories.
    Advisories,
    /// Announcements of terminal states `<prefix>.events.<state>.<workflow>`.
    Events,
}

impl StreamKind {
    /// Every stream, in provisioning order.
    pub const ALL: [StreamKind; 5] = [
        StreamKind::Ingest,
        StreamKind::Pipeline,
        StreamKind::DeadLetter,
        StreamKind::Advisories,
        StreamKind::Events,
    ];

    const fn suffix(self) -> &'static str {
        match self {
            StreamKind::Ingest => "INGEST",
            StreamKind::Pipeline => "PIPELINE",
            StreamKind::DeadLetter => "DLQ",
            StreamKind::Advisories => "ADVISORIES",
            StreamKind::Events => "EVENTS",
        }
    }
}

/// Builds every subject and resource name under one prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Subjects {
    prefix: String,
}

impl Default for Subjects {
    fn default() -> Self {
        Self {
            prefix: Self::DEFAULT_PREFIX.to_owned(),
        }
    }
}

/// Checks a kill-switch key: `<workflow>` or `<workflow>.<action>`, each a
/// valid name.
pub fn validate_switch_key(key: &str) -> Result<(), Error> {
    let mut parts = key.splitn(2, '.');
    validate_name("workflow", parts.next().unwrap_or_default())?;
    match parts.next() {
        Some(action) => validate_name("action", action),
        None => Ok(()),
    }
}

impl Subjects {
    /// The production prefix.
    pub const DEFAULT_PREFIX: &'static str = "sluice";

    /// Names under `prefix`, which must be a single subject token.
    pub fn new(prefix: impl Into<String>) -> Result<Self, Error> {
        let prefix = prefix.into();
        validate_name("prefix", &prefix)?;
        Ok(Self { prefix })
    }

    /// The prefix itself.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Every upstream NATS event of `source`: `<prefix>.in.<source>.>`.
    pub fn ingest_filter(&self, source: &str) -> Result<String, Error> {
        validate_name("source", source)?;
        Ok(format!("{}.in.{source}.>", self.prefix))
    }

    /// The hand-off into `stage` for `workflow`: `<prefix>.stage.<stage>.<workflow>`.
    pub fn stage(&self, stage: Stage, workflow: &str) -> Result<String, Error> {
        validate_name("workflow", workflow)?;
        Ok(format!("{}.stage.{stage}.{workflow}", self.prefix))
    }

    /// A dead letter from `stage` of `workflow`: `<prefix>.dlq.<stage>.<workflow>`.
    pub fn dead_letter(&self, stage: Stage, workflow: &str) -> Result<String, Error> {
        validate_name("workflow", workflow)?;
        Ok(format!("{}.dlq.{stage}.{workflow}", self.prefix))
    }

    /// An announcement that an execution of `workflow` reached `state`:
    /// `<prefix>.events.<state>.<workflow>` (state in lower case).
    pub fn event(&self, state: crate::State, workflow: &str) -> Result<String, Error> {
        self.event_named(&state.as_str().to_ascii_lowercase(), workflow)
    }

    /// An announcement named `name` (a state in lower case, or a condition
    /// such as `review_overdue`) about `workflow`:
    /// `<prefix>.events.<name>.<workflow>`.
    pub fn event_named(&self, name: &str, workflow: &str) -> Result<String, Error> {
        validate_name("event", name)?;
        validate_name("workflow", workflow)?;
        Ok(format!("{}.events.{name}.{workflow}", self.prefix))
    }

    /// The subjects a stream captures.
    pub fn stream_subjects(&self, kind: StreamKind) -> Vec<String> {
        let p = &self.prefix;
        match kind {
            StreamKind::Ingest => vec![format!("{p}.in.>")],
            StreamKind::Pipeline => vec![format!("{p}.stage.>")],
            StreamKind::DeadLetter => vec![format!("{p}.dlq.>")],
            StreamKind::Advisories => self.advisory_subjects(),
            StreamKind::Events => vec![format!("{p}.events.>")],
        }
    }

    /// The JetStream advisories captured for the dead-letter service: max
    /// deliveries reached and messages terminated, for the streams whose
    /// consumers Sluice owns.
    ///
    /// Advisory subjects carry the stream and consumer names, so they can be
    /// scoped to this prefix's streams and never capture another tenant's.
    pub fn advisory_subjects(&self) -> Vec<String> {
        [StreamKind::Ingest, StreamKind::Pipeline]
            .into_iter()
            .flat_map(|kind| {
                let stream = self.stream(kind);
                [
                    format!("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.*"),
                    format!("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.{stream}.*"),
                ]
            })
            .collect()
    }

    /// The stream name: `SLUICE_PIPELINE` for the default prefix.
    pub fn stream(&self, kind: StreamKind) -> String {
        format!(
            "{}_{}",
            self.prefix.to_ascii_uppercase().replace('-', "_"),
            kind.suffix()
        )
    }

    /// The durable consumer of `stage` for `workflow` (replicas share it).
    pub fn consumer(&self, stage: Stage, workflow: &str) -> Result<String, Error> {
        validate_name("workflow", workflow)?;
        Ok(format!("{}-{stage}-{workflow}", self.prefix))
    }

    /// The kill-switch KV bucket: `sluice-switches` for the default prefix.
    pub fn switches_bucket(&self) -> String {
        format!("{}-switches", self.prefix)
    }

    /// The KV bucket of scheduled sources: per schedule, which ingest
    /// replica fires it (a lease) and up to which slot it has fired.
    pub fn schedules_bucket(&self) -> String {
        format!("{}-schedules", self.prefix)
    }

    /// The KV bucket of open clarifications: what was collected of a request
    /// while the user is asked for the rest, keyed by conversation.
    pub fn conversations_bucket(&self) -> String {
        format!("{}-conversations", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::State;

    #[test]
    fn names_under_the_default_prefix() {
        let s = Subjects::default();
        let names = serde_json::json!({
            "ingest": s.ingest_filter("whatsapp").ok(),
            "stage": s.stage(Stage::Interpret, "reservation").ok(),
            "dead_letter": s.dead_letter(Stage::Execute, "reservation").ok(),
            "event": s.event(State::DeadLettered, "reservation").ok(),
            "consumer": s.consumer(Stage::Gate, "reservation").ok(),
            "switches": s.switches_bucket(),
            "conversations": s.conversations_bucket(),
            "streams": StreamKind::ALL.iter().map(|k| (s.stream(*k), s.stream_subjects(*k))).collect::<Vec<_>>(),
        });
        insta::assert_json_snapshot!(names);
    }

    #[test]
    fn refuses_tokens_that_would_change_the_subject() {
        let s = Subjects::default();
        assert!(s.stage(Stage::Gate, "a.b").is_err());
        assert!(s.ingest_filter(">").is_err());
        assert!(Subjects::new("t.x").is_err());
        assert_eq!(
            Subjects::new("t-1")
                .map(|s| s.stream(StreamKind::Pipeline))
                .ok(),
            Some("T_1_PIPELINE".to_owned())
        );
    }
}
