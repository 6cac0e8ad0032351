//! The versioned event envelope every stage hands to the next.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::pipeline::{ActionRecord, GateDecision, Interpretation};
use crate::{CorrelationId, Error, ExecutionId};

/// The envelope version this build writes.
pub const ENVELOPE_VERSION: u16 = 1;

/// The oldest envelope version this build still reads. Rolling upgrades run
/// version N and N−1 side by side, so readers accept both: a release that
/// changes the envelope reads the new version while still writing the old
/// one, and only the next release writes it (docs/operations.md,
/// "Upgrades"). While [`ENVELOPE_VERSION`] is 1 there is no N−1 yet and the
/// readable range is that one version.
pub const MIN_READABLE_VERSION: u16 = 1;

/// One event on its way through the pipeline.
///
/// Stages add what they learnt under their own optional fields rather than
/// rewriting `data`, so the original upstream payload is always available to
/// a replay, a reviewer or an audit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Envelope format version ([`ENVELOPE_VERSION`] when written by this build).
    pub version: u16,
    /// Derived from `(source, event_id, workflow)`.
    pub execution_id: ExecutionId,
    /// Ties every log line, span and message of the execution together.
    pub correlation_id: CorrelationId,
    /// The declared upstream source.
    pub source: String,
    /// The upstream's own id for the event (webhook id, message id).
    pub event_id: String,
    /// The workflow this execution runs.
    pub workflow: String,
    /// When ingest accepted the event.
    pub received_at: DateTime<Utc>,
    /// The upstream payload, exactly as accepted.
    pub data: serde_json::Value,
    /// Added by the interpreter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpretation: Option<Interpretation>,
    /// Added by the gate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<GateDecision>,
    /// Added by the executor, one per action run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ActionRecord>,
}

impl Envelope {
    /// The reference time for relative dates ("tomorrow"): the payload's own
    /// RFC 3339 `timestamp` if it has one, else when ingest accepted the
    /// message — never the wall clock, so a replay a week later, or an eval
    /// case built from this execution, reads it the same way.
    pub fn reference_time(&self) -> DateTime<Utc> {
        self.data
            .get("timestamp")
            .and_then(serde_json::Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map_or(self.received_at, |t| t.with_timezone(&Utc))
    }

    /// A new envelope for an accepted event, at the current version.
    pub fn new(
        source: impl Into<String>,
        event_id: impl Into<String>,
        workflow: impl Into<String>,
        correlation_id: CorrelationId,
        received_at: DateTime<Utc>,
        data: serde_json::Value,
    ) -> Self {
        let (source, event_id, workflow) = (source.into(), event_id.into(), workflow.into());
        Self {
            version: ENVELOPE_VERSION,
            execution_id: ExecutionId::derive(&source, &event_id, &workflow),
            correlation_id,
            source,
            event_id,
            workflow,
            received_at,
            data,
            interpretation: None,
            decision: None,
            actions: Vec::new(),
        }
    }

    /// Serialises to JSON bytes.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        Ok(serde_json::to_vec(self)?)
    }

    /// Parses JSON bytes, refusing versions this build cannot read.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        #[derive(Deserialize)]
        struct Probe {
            version: u16,
        }
        let Probe { version } = serde_json::from_slice(bytes)?;
        if !(MIN_READABLE_VERSION..=ENVELOPE_VERSION).contains(&version) {
            // Say which side of a rolling upgrade is out of step, so the
            // runbook's answer (upgrade, then replay) is in the reason.
            let why = if version > ENVELOPE_VERSION {
                "written by a newer release: upgrade this service, then replay"
            } else {
                "older than any release still supported: replay through ingest"
            };
            return Err(Error::Envelope(serde::de::Error::custom(format!(
                "envelope version {version} is not readable by this build \
                 (reads {MIN_READABLE_VERSION}..={ENVELOPE_VERSION}; {why})"
            ))));
        }
        Ok(serde_json::from_slice(bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Envelope {
        let at = DateTime::parse_from_rfc3339("2026-11-23T18:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        Envelope::new(
            "whatsapp",
            "wamid.HBgL",
            "reservation",
            CorrelationId::from_upstream(Some("corr-1")),
            at,
            serde_json::json!({"text": "A table for four tomorrow at nine."}),
        )
    }

    #[test]
    fn wire_format_snapshot() {
        insta::assert_json_snapshot!(sample());
    }

    #[test]
    fn round_trips() {
        let e = sample();
        let bytes = e.encode().expect("encode");
        assert_eq!(Envelope::decode(&bytes).expect("decode"), e);
    }

    #[test]
    fn refuses_unknown_versions_and_garbage() {
        let mut e = sample();
        e.version = ENVELOPE_VERSION + 1;
        let bytes = serde_json::to_vec(&e).expect("json");
        let err = Envelope::decode(&bytes).expect_err("future version");
        assert!(err.to_string().contains("not readable"), "{err}");
        assert!(Envelope::decode(b"{not json").is_err());
        assert!(Envelope::decode(br#"{"version":1}"#).is_err());
    }
}
