//! Dead-letter replays started from the console, run in the background and
//! followed on their progress page.
//!
//! Progress lives in memory, keyed by batch id: it is what the page shows,
//! not the record. The ledger holds the record (every entry's replay under
//! the operator's name), so a replay cut off by a restart is finished by
//! running the same batch again, from the console or with
//! `sluice dlq replay … --batch <id>`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use sluice_ops::replay::{Outcome, Planned, Replay};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How many batches are remembered; the oldest finished ones are forgotten
/// first.
const KEPT: usize = 100;

/// Where a replay is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    /// Still going.
    Running,
    /// Every entry is done.
    Done,
    /// Stopped at an entry that failed (the message says why).
    Failed(String),
    /// Stopped because the console shut down.
    Interrupted,
}

/// What became of one entry so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryState {
    /// Not reached yet.
    Pending,
    /// Replayed (or found already replayed).
    Done(Outcome),
    /// The replay stopped here.
    Failed,
}

/// One entry of a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The dead letter's id.
    pub id: i64,
    /// Where the copy goes.
    pub subject: String,
    /// The copy's `Nats-Msg-Id`: planned until the entry is done, then the
    /// one the ledger reserved.
    pub msg_id: String,
    /// What became of it.
    pub state: EntryState,
}

/// A replay's progress, as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The batch id.
    pub batch: String,
    /// Who started it.
    pub started_by: String,
    /// Why (kept in the audit trail).
    pub reason: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Every entry, in replay order.
    pub entries: Vec<Entry>,
    /// Where the run is.
    pub state: RunState,
}

/// How many entries are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Published by this run.
    pub published: usize,
    /// Not sent again: this batch had published them already.
    pub skipped: usize,
    /// Where the run stopped.
    pub failed: usize,
    /// Not reached.
    pub remaining: usize,
}

impl Progress {
    /// The entries by state.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for entry in &self.entries {
            match entry.state {
                EntryState::Pending => counts.remaining += 1,
                EntryState::Done(Outcome::Published) => counts.published += 1,
                EntryState::Done(Outcome::Skipped | Outcome::Found { .. }) => counts.skipped += 1,
                EntryState::Failed => counts.failed += 1,
            }
        }
        counts
    }
}

/// The replays of this console process.
#[derive(Debug, Clone, Default)]
pub struct Replays {
    by_batch: Arc<Mutex<HashMap<String, Progress>>>,
    tasks: TaskTracker,
    stop: CancellationToken,
}

impl Replays {
    /// No replays yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The progress of `batch`, if this console ran it.
    pub fn get(&self, batch: &str) -> Option<Progress> {
        self.lock().get(batch).cloned()
    }

    /// Starts `replay` in the background, showing `planned` until each entry
    /// is done. False (and nothing started) when the batch is already
    /// running: one batch never runs twice at once.
    pub fn start(&self, replay: Replay, planned: Vec<Planned>, started_by: &str) -> bool {
        let plan = replay.plan().clone();
        let progress = Progress {
            batch: plan.batch.clone(),
            started_by: started_by.to_owned(),
            reason: plan.reason,
            started_at: Utc::now(),
            entries: planned
                .into_iter()
                .map(|p| Entry {
                    id: p.id,
                    subject: p.subject,
                    msg_id: p.msg_id,
                    state: EntryState::Pending,
                })
                .collect(),
            state: RunState::Running,
        };
        {
            let mut by_batch = self.lock();
            if by_batch
                .get(&plan.batch)
                .is_some_and(|p| p.state == RunState::Running)
            {
                return false;
            }
            forget_oldest(&mut by_batch);
            by_batch.insert(plan.batch.clone(), progress);
        }
        let this = self.clone();
        self.tasks.spawn(this.run(replay, plan.batch));
        true
    }

    /// Stops every running replay before its next entry and waits for them.
    pub async fn shutdown(&self) {
        self.stop.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }

    async fn run(self, mut replay: Replay, batch: String) {
        for index in 0.. {
            // Cut off mid-entry, an entry is begun in the ledger and maybe
            // sent: running the batch again finds the copy instead of
            // sending a second one.
            let step = tokio::select! {
                () = self.stop.cancelled() => {
                    self.update(&batch, |p| p.state = RunState::Interrupted);
                    return;
                }
                step = replay.next_entry() => step,
            };
            match step {
                None => {
                    self.update(&batch, |p| p.state = RunState::Done);
                    return;
                }
                Some(Ok(result)) => self.update(&batch, |p| {
                    if let Some(entry) = p.entries.get_mut(index) {
                        entry.msg_id = result.msg_id;
                        entry.state = EntryState::Done(result.outcome);
                    }
                }),
                Some(Err(e)) => {
                    tracing::warn!(%batch, error = %e, "dead-letter replay stopped");
                    self.update(&batch, |p| {
                        if let Some(entry) = p.entries.get_mut(index) {
                            entry.state = EntryState::Failed;
                        }
                        p.state = RunState::Failed(e.to_string());
                    });
                    return;
                }
            }
        }
    }

    fn update(&self, batch: &str, change: impl FnOnce(&mut Progress)) {
        if let Some(progress) = self.lock().get_mut(batch) {
            change(progress);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Progress>> {
        self.by_batch.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Makes room for one more batch by forgetting the oldest finished ones.
fn forget_oldest(by_batch: &mut HashMap<String, Progress>) {
    while by_batch.len() >= KEPT {
        let oldest = by_batch
            .values()
            .filter(|p| p.state != RunState::Running)
            .min_by_key(|p| p.started_at)
            .map(|p| p.batch.clone());
        match oldest {
            Some(batch) => by_batch.remove(&batch),
            // All running: keep them all rather than lose one's progress.
            None => return,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(batch: &str, state: RunState, entries: Vec<EntryState>) -> Progress {
        Progress {
            batch: batch.to_owned(),
            started_by: "bob".into(),
            reason: "r".into(),
            started_at: Utc::now(),
            entries: entries
                .into_iter()
                .enumerate()
                .map(|(i, state)| Entry {
                    id: i64::try_from(i).unwrap_or_default(),
                    subject: "s".into(),
                    msg_id: "m".into(),
                    state,
                })
                .collect(),
            state,
        }
    }

    #[test]
    fn counts_put_an_earlier_copy_with_the_skipped() {
        let p = progress(
            "b",
            RunState::Running,
            vec![
                EntryState::Done(Outcome::Published),
                EntryState::Done(Outcome::Skipped),
                EntryState::Done(Outcome::Found { sequence: 4 }),
                EntryState::Failed,
                EntryState::Pending,
                EntryState::Pending,
            ],
        );
        let counts = Counts {
            published: 1,
            skipped: 2,
            failed: 1,
            remaining: 2,
        };
        assert_eq!(p.counts(), counts);
    }

    #[test]
    fn the_oldest_finished_batch_is_forgotten_first() {
        let mut by_batch = HashMap::new();
        for i in 0..KEPT {
            let state = if i == 0 {
                RunState::Running
            } else {
                RunState::Done
            };
            by_batch.insert(i.to_string(), progress(&i.to_string(), state, Vec::new()));
        }
        forget_oldest(&mut by_batch);
        assert_eq!(by_batch.len(), KEPT - 1);
        assert!(by_batch.contains_key("0"), "a running batch is kept");
    }
}
