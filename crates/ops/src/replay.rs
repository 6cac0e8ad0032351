//! Replaying dead letters to their original subject.
//!
//! Each entry goes through the ledger's two phases: `begin_replay` reserves
//! the generation `replay:<n>` for this batch (the same batch gets the same
//! `n` back), the original payload and headers are published with
//! `Nats-Msg-Id = <execution>:<stage>:replay:<n>`, and `complete_replay`
//! records the outcome. Running an interrupted batch again therefore skips
//! what was published. An entry caught mid-way (begun, outcome not recorded)
//! may or may not have gone out: the broker drops a re-send only inside its
//! dedupe window, so the resumed run first looks for its own copy in the
//! stream (from the moment the batch began the entry) and records that
//! instead of sending again.
//!
//! [`preview`] is the dry run; [`Replay`] is the run itself, one entry at a
//! time so the caller can show progress as it goes.

use async_nats::jetstream::context::PublishError;
use sluice_ledger::{DeadLetter, replay_generation};

mod run;

pub use run::Replay;

/// What a replay failed on; the batch can be run again to resume it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The ledger refused or failed a call about this entry.
    #[error("dead letter {id}: {source}")]
    Ledger {
        /// The entry.
        id: i64,
        /// The ledger's error.
        #[source]
        source: sluice_ledger::Error,
    },
    /// Looking for a copy an interrupted run may have sent failed.
    #[error("dead letter {id}: looking for an earlier copy: {source}")]
    Lookup {
        /// The entry.
        id: i64,
        /// The broker's error.
        #[source]
        source: sluice_bus::Error,
    },
    /// The broker did not acknowledge the republished message; the failure
    /// is recorded in the ledger.
    #[error("dead letter {id}: publish failed: {source}")]
    Publish {
        /// The entry.
        id: i64,
        /// The broker's error.
        #[source]
        source: PublishError,
    },
}

impl Error {
    /// The entry the replay stopped at.
    pub const fn id(&self) -> i64 {
        match self {
            Error::Ledger { id, .. } | Error::Lookup { id, .. } | Error::Publish { id, .. } => *id,
        }
    }
}

/// What to replay and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Why (kept in the audit trail).
    pub reason: String,
    /// The batch id: running the same batch again resumes it.
    pub batch: String,
    /// Refuse entries replayed this many times (0: the ledger's default).
    pub max_replays: u32,
    /// At most this many publishes per second.
    pub rps: Option<f64>,
}

/// What a replay would send for one entry (the dry run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The entry's id.
    pub id: i64,
    /// The original subject, where the copy goes.
    pub subject: String,
    /// The `Nats-Msg-Id` of the next replay generation.
    pub msg_id: String,
}

/// What happened to one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Published now.
    Published,
    /// This batch had published it already: nothing sent.
    Skipped,
    /// An interrupted run of this batch had sent it (found at this stream
    /// sequence): recorded, not sent again.
    Found {
        /// Where the earlier copy is stored.
        sequence: u64,
    },
}

/// The result of replaying one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryResult {
    /// The entry's id.
    pub id: i64,
    /// Where the copy went.
    pub subject: String,
    /// The copy's `Nats-Msg-Id`.
    pub msg_id: String,
    /// What happened.
    pub outcome: Outcome,
    /// Whether the execution moved DEAD_LETTERED → REPLAYED; false when the
    /// ledger refused (the execution is elsewhere, there is none, or the
    /// caller's role may not record transitions). The copy is processed by
    /// its stage either way.
    pub execution_replayed: bool,
}

/// The `Nats-Msg-Id` of generation `generation` of an entry.
pub fn msg_id(d: &DeadLetter, generation: &str) -> String {
    // An entry with no execution (an undecodable message) is named by its id.
    let execution = d
        .execution_id
        .map_or_else(|| format!("dlq-{}", d.id), |id| id.to_string());
    format!("{execution}:{}:{generation}", d.stage)
}

/// What a replay of `entries` would send; changes nothing.
pub fn preview(entries: &[DeadLetter]) -> Vec<Planned> {
    entries
        .iter()
        .map(|d| Planned {
            id: d.id,
            subject: d.subject.clone(),
            msg_id: msg_id(d, &replay_generation(d.replay_count + 1)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use sluice_core::FailureClass;
    use sluice_ledger::DeadLetterStatus;

    use super::*;

    fn entry(id: i64, execution: Option<sluice_core::ExecutionId>, replays: u32) -> DeadLetter {
        let now = Utc::now();
        DeadLetter {
            id,
            stream: "SLUICE_PIPELINE".into(),
            stream_sequence: 7,
            stage: "execute".into(),
            workflow: "reservation".into(),
            execution_id: execution.map(|e| *e.as_uuid()),
            correlation_id: String::new(),
            failure_class: FailureClass::Permanent,
            reason: "undecodable".into(),
            error_detail: None,
            attempts: 1,
            first_failed_at: now,
            last_failed_at: now,
            subject: "sluice.stage.execute.reservation".into(),
            headers: Default::default(),
            payload: b"{}".to_vec(),
            dlq_stream: String::new(),
            dlq_sequence: 0,
            status: DeadLetterStatus::Open,
            replay_count: replays,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn the_preview_names_the_next_generation() {
        let execution = sluice_core::ExecutionId::derive("whatsapp", "e1", "reservation");
        let planned = preview(&[entry(4, Some(execution), 0), entry(5, None, 2)]);
        assert_eq!(
            planned,
            vec![
                Planned {
                    id: 4,
                    subject: "sluice.stage.execute.reservation".into(),
                    msg_id: format!("{execution}:execute:replay:1"),
                },
                Planned {
                    id: 5,
                    subject: "sluice.stage.execute.reservation".into(),
                    msg_id: "dlq-5:execute:replay:3".into(),
                },
            ]
        );
    }
}
