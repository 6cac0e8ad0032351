//! The run itself: the two phases per entry, paced.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, context::PublishError};
use serde_json::json;
use sluice_core::{ExecutionId, State, headers};
use sluice_ledger::{
    BeginReplay, DeadLetter, LedgerClient, ReplayOutcome, ReplayTicket, Transition,
};

use super::{EntryResult, Error, Outcome, Plan, msg_id};

/// A replay of some entries, run one entry at a time.
pub struct Replay {
    ledger: LedgerClient,
    jetstream: jetstream::Context,
    entries: std::vec::IntoIter<DeadLetter>,
    plan: Plan,
    pause: Option<Duration>,
    started: bool,
}

impl Replay {
    /// A replay of `entries` in order, made with `ledger`'s identity (the
    /// audit trail names it) and published through `jetstream`.
    pub fn new(
        ledger: LedgerClient,
        jetstream: jetstream::Context,
        entries: Vec<DeadLetter>,
        plan: Plan,
    ) -> Self {
        let pause = plan
            .rps
            .filter(|r| r.is_finite() && *r > 0.0)
            .map(|r| Duration::from_secs_f64(1.0 / r));
        Self {
            ledger,
            jetstream,
            entries: entries.into_iter(),
            plan,
            pause,
            started: false,
        }
    }

    /// The plan being run.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Replays the next entry (after the pause `rps` asks for); `None` when
    /// every entry is done. Callers stop at the first error: the batch can be
    /// run again to resume it.
    pub async fn next_entry(&mut self) -> Option<Result<EntryResult, Error>> {
        let entry = self.entries.next()?;
        if let (Some(pause), true) = (self.pause, self.started) {
            tokio::time::sleep(pause).await;
        }
        self.started = true;
        Some(self.replay_one(&entry).await)
    }

    /// Replays every entry, calling `on_entry` after each; stops at the first
    /// failure.
    pub async fn run(
        mut self,
        mut on_entry: impl FnMut(&EntryResult),
    ) -> Result<Vec<EntryResult>, Error> {
        let mut results = Vec::new();
        while let Some(result) = self.next_entry().await {
            let result = result?;
            on_entry(&result);
            results.push(result);
        }
        Ok(results)
    }

    async fn replay_one(&self, entry: &DeadLetter) -> Result<EntryResult, Error> {
        let id = entry.id;
        let ledger = |source| Error::Ledger { id, source };
        let begin = BeginReplay {
            id,
            reason: self.plan.reason.clone(),
            batch_id: self.plan.batch.clone(),
            max_replays: self.plan.max_replays,
        };
        let ticket = self.ledger.begin_replay(&begin).await.map_err(ledger)?;
        let label = ticket.generation_label();
        let msg = msg_id(&ticket.dead_letter, &label);
        let result = |outcome, execution_replayed| EntryResult {
            id,
            subject: entry.subject.clone(),
            msg_id: msg.clone(),
            outcome,
            execution_replayed,
        };
        if ticket.outcome == Some(ReplayOutcome::Published) {
            return Ok(result(Outcome::Skipped, false));
        }
        if ticket.resumed {
            let found =
                sluice_bus::find_by_msg_id(&self.jetstream, &entry.subject, &msg, ticket.begun_at)
                    .await
                    .map_err(|source| Error::Lookup { id, source })?;
            if let Some(sequence) = found {
                let note = format!("{msg} (found at sequence {sequence})");
                self.complete(id, ReplayOutcome::Published, &note).await?;
                let moved = self.mark_replayed(&ticket, &label).await;
                return Ok(result(Outcome::Found { sequence }, moved));
            }
        }
        if let Err(source) = self.publish(&ticket, &label, &msg).await {
            let why = format!("publish failed: {source}");
            self.complete(id, ReplayOutcome::Failed, &why).await?;
            return Err(Error::Publish { id, source });
        }
        let moved = self.mark_replayed(&ticket, &label).await;
        self.complete(id, ReplayOutcome::Published, &msg).await?;
        Ok(result(Outcome::Published, moved))
    }

    async fn complete(&self, id: i64, outcome: ReplayOutcome, note: &str) -> Result<(), Error> {
        self.ledger
            .complete_replay(id, &self.plan.batch, outcome, note)
            .await
            .map_err(|source| Error::Ledger { id, source })?;
        Ok(())
    }

    /// Publishes the original message under the replay generation and waits
    /// for the broker's acknowledgement.
    async fn publish(
        &self,
        ticket: &ReplayTicket,
        label: &str,
        msg_id: &str,
    ) -> Result<(), PublishError> {
        let d = &ticket.dead_letter;
        let mut map = HeaderMap::new();
        for (name, values) in &d.headers {
            // The old id and generation would make the broker drop the copy.
            if name.eq_ignore_ascii_case(headers::MSG_ID)
                || name.eq_ignore_ascii_case(headers::GENERATION)
            {
                continue;
            }
            for value in values {
                map.append(name.as_str(), value.as_str());
            }
        }
        map.insert(headers::MSG_ID, msg_id);
        map.insert(headers::GENERATION, label);
        self.jetstream
            .publish_with_headers(d.subject.clone(), map, d.payload.clone().into())
            .await?
            .await?;
        Ok(())
    }

    /// Records DEAD_LETTERED → REPLAYED when the ledger allows it; false when
    /// it refuses (see [`EntryResult::execution_replayed`]).
    async fn mark_replayed(&self, ticket: &ReplayTicket, label: &str) -> bool {
        let Some(id) = ticket.dead_letter.execution_id else {
            return false;
        };
        let transition = Transition {
            execution_id: ExecutionId::from_uuid(id),
            from: Some(State::DeadLettered),
            to: State::Replayed,
            stage: ticket.dead_letter.stage.clone(),
            generation: label.to_owned(),
            detail: Some(json!({ "dead_letter": ticket.dead_letter.id })),
            exception_reason: None,
            final_outcome: None,
            origin: Default::default(),
        };
        matches!(
            self.ledger.record_transition(&transition).await,
            Ok(o) if o.applied || o.state == State::Replayed
        )
    }
}
