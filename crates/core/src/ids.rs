//! Execution, correlation and message ids.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Stage;

/// The fixed namespace under which execution ids are derived. Changing it
/// would give every in-flight event a new execution id, so it never changes.
pub const EXECUTION_NAMESPACE: Uuid = Uuid::from_u128(0x5c1e_e0e0_7a1d_4c1e_9b5e_51c1_0000_0001);

/// The id of one execution: a UUIDv5 of `source \n event_id \n workflow`.
///
/// The same upstream event always maps to the same execution per workflow,
/// whichever replica or retry saw it, so deduplication never depends on which
/// process received the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExecutionId(Uuid);

impl ExecutionId {
    /// Derives the execution id of `event_id` from `source` in `workflow`.
    pub fn derive(source: &str, event_id: &str, workflow: &str) -> Self {
        let name = format!("{source}\n{event_id}\n{workflow}");
        Self(Uuid::new_v5(&EXECUTION_NAMESPACE, name.as_bytes()))
    }

    /// Wraps an id read back from storage or the wire.
    pub const fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    /// The underlying UUID.
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for ExecutionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ExecutionId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// The id that ties together every log line, span and message of one
/// execution, taken from the upstream (`X-Correlation-Id`, a NATS header) when
/// it sends one, generated otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CorrelationId(String);

impl CorrelationId {
    /// The longest correlation id accepted from upstream; longer ones are
    /// replaced so that a hostile header cannot bloat every log line.
    pub const MAX_LEN: usize = 128;

    /// A fresh random correlation id.
    pub fn generate() -> Self {
        Self(Uuid::new_v4().to_string())
    }

    /// Accepts an upstream id if it is short printable ASCII without spaces,
    /// otherwise generates a new one.
    pub fn from_upstream(value: Option<&str>) -> Self {
        match value {
            Some(v)
                if !v.is_empty()
                    && v.len() <= Self::MAX_LEN
                    && v.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Self(v.to_owned())
            }
            _ => Self::generate(),
        }
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The `Nats-Msg-Id` of a publish, which JetStream uses to drop duplicates
/// inside its dedupe window.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageId(String);

impl MessageId {
    /// `<execution_id>:<stage>:<generation>`. The generation grows each time an
    /// execution legitimately re-enters a stage (approval, reviewed retry,
    /// replay), so a real second pass is never mistaken for a duplicate.
    pub fn stage(execution: ExecutionId, stage: Stage, generation: &str) -> Self {
        Self(format!("{execution}:{stage}:{generation}"))
    }

    /// `dlq:<stream>:<sequence>`: one dead-letter entry per original message,
    /// whichever path (the bus on the final delivery, or the advisory) reports
    /// it.
    pub fn dead_letter(stream: &str, sequence: u64) -> Self {
        Self(format!("dlq:{stream}:{sequence}"))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_id_is_stable_and_separates_its_parts() {
        let a = ExecutionId::derive("whatsapp", "wamid.1", "reservation");
        assert_eq!(a, ExecutionId::derive("whatsapp", "wamid.1", "reservation"));
        assert_ne!(a, ExecutionId::derive("whatsapp", "wamid.1", "crm"));
        assert_ne!(a, ExecutionId::derive("whatsapp", "wamid.2", "reservation"));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(
            ExecutionId::derive("ab", "c", "w"),
            ExecutionId::derive("a", "bc", "w")
        );
        assert_eq!(a.as_uuid().get_version_num(), 5);
        // Frozen value: if this changes, every in-flight event changes identity.
        insta::assert_snapshot!(a.to_string(), @"10afc522-d69b-575d-af06-e48fcfc32dbd");
    }

    #[test]
    fn correlation_id_rejects_hostile_upstream_values() {
        assert_eq!(
            CorrelationId::from_upstream(Some("abc-123")).as_str(),
            "abc-123"
        );
        let long = "x".repeat(CorrelationId::MAX_LEN + 1);
        assert_ne!(CorrelationId::from_upstream(Some(&long)).as_str(), long);
        assert_ne!(CorrelationId::from_upstream(Some("a b")).as_str(), "a b");
        assert_ne!(CorrelationId::from_upstream(Some("")).as_str(), "");
    }

    #[test]
    fn message_ids() {
        let e = ExecutionId::derive("s", "e", "w");
        assert_eq!(
            MessageId::stage(e, Stage::Execute, "0").as_str(),
            format!("{e}:execute:0")
        );
        assert_eq!(
            MessageId::dead_letter("SLUICE_PIPELINE", 42).as_str(),
            "dlq:SLUICE_PIPELINE:42"
        );
    }
}
