//! Pipeline stages.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// A stage of the pipeline: one subject family and one durable consumer per
/// workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Authentication, parsing and deduplication of inbound events.
    Ingest,
    /// The model (or deterministic extractor) turns the event into a contract.
    Interpret,
    /// Deterministic rules decide what may happen.
    Gate,
    /// The ledger-guarded side effect.
    Execute,
    /// The confirmation to the user.
    Notify,
}

impl Stage {
    /// Every stage, in pipeline order.
    pub const ALL: [Stage; 5] = [
        Stage::Ingest,
        Stage::Interpret,
        Stage::Gate,
        Stage::Execute,
        Stage::Notify,
    ];

    /// The stages fed through `sluice.stage.<stage>.<workflow>` (ingest reads
    /// `sluice.in.>` instead).
    pub const PIPELINE: [Stage; 4] = [Stage::Interpret, Stage::Gate, Stage::Execute, Stage::Notify];

    /// The subject token and consumer-name spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Stage::Ingest => "ingest",
            Stage::Interpret => "interpret",
            Stage::Gate => "gate",
            Stage::Execute => "execute",
            Stage::Notify => "notify",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Stage::ALL
            .into_iter()
            .find(|stage| stage.as_str() == s)
            .ok_or_else(|| Error::UnknownStage(s.to_owned()))
    }
}
