//! What is waiting for people: open review items and open dead letters.

use crate::convert::pb;

/// Open review items and open dead letters now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Backlog {
    /// Per workflow with at least one open review item.
    pub reviews: Vec<ReviewBacklog>,
    /// Per (workflow, stage) with at least one open dead letter.
    pub dead_letters: Vec<DeadLetterBacklog>,
}

/// Open review items of one workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewBacklog {
    /// The workflow.
    pub workflow: String,
    /// Open items.
    pub open: u64,
    /// Age of the oldest open item in seconds, by the database clock.
    pub oldest_age_seconds: f64,
}

/// Open dead letters of one workflow (the source, for ingest) and stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterBacklog {
    /// The workflow, or the source for dead letters of the ingest stage.
    pub workflow: String,
    /// The stage it was dead-lettered at.
    pub stage: String,
    /// Entries neither replayed nor discarded.
    pub open: u64,
}

impl Backlog {
    /// The wire form.
    pub fn to_proto(&self) -> pb::GetBacklogResponse {
        pb::GetBacklogResponse {
            reviews: self
                .reviews
                .iter()
                .map(|r| pb::ReviewBacklog {
                    workflow: r.workflow.clone(),
                    open: r.open,
                    oldest_age_seconds: r.oldest_age_seconds,
                })
                .collect(),
            dead_letters: self
                .dead_letters
                .iter()
                .map(|d| pb::DeadLetterBacklog {
                    workflow: d.workflow.clone(),
                    stage: d.stage.clone(),
                    open: d.open,
                })
                .collect(),
        }
    }

    /// From the wire form.
    pub fn from_proto(r: pb::GetBacklogResponse) -> Self {
        Self {
            reviews: r
                .reviews
                .into_iter()
                .map(|r| ReviewBacklog {
                    workflow: r.workflow,
                    open: r.open,
                    oldest_age_seconds: r.oldest_age_seconds,
                })
                .collect(),
            dead_letters: r
                .dead_letters
                .into_iter()
                .map(|d| DeadLetterBacklog {
                    workflow: d.workflow,
                    stage: d.stage,
                    open: d.open,
                })
                .collect(),
        }
    }
}
