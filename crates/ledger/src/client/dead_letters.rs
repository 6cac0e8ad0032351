//! Typed client calls for dead letters. Every one is safe to retry: a
//! repeated record returns the same entry, a repeated BeginReplay with the
//! same batch id the same generation, and repeated completions and discards
//! change nothing.

use super::LedgerClient;
use crate::convert::{pb, replay_outcome_out, trail_from_proto};
use crate::error::Result;
use crate::types::{
    AuditRecord, BeginReplay, DeadLetter, DeadLetterChange, DeadLetterFilter, DeadLetterPage,
    NewDeadLetter, RecordedDeadLetter, ReplayOutcome, ReplayTicket,
};

impl LedgerClient {
    /// Indexes a dead letter (once per original stream and sequence).
    pub async fn record_dead_letter(&self, d: &NewDeadLetter) -> Result<RecordedDeadLetter> {
        let resp = self
            .call(d.to_proto(), |mut c, r| async move {
                c.record_dead_letter(r).await
            })
            .await?;
        RecordedDeadLetter::from_proto(resp)
    }

    /// Reads one dead letter and its audit trail.
    pub async fn get_dead_letter(&self, id: i64) -> Result<(DeadLetter, Vec<AuditRecord>)> {
        let msg = pb::GetDeadLetterRequest { id };
        let resp = self
            .call(msg, |mut c, r| async move { c.get_dead_letter(r).await })
            .await?;
        Ok((
            DeadLetter::from_field(resp.dead_letter)?,
            trail_from_proto(resp.audit)?,
        ))
    }

    /// Lists dead letters, newest first.
    pub async fn list_dead_letters(&self, filter: &DeadLetterFilter) -> Result<DeadLetterPage> {
        let resp = self
            .call(filter.to_proto(), |mut c, r| async move {
                c.list_dead_letters(r).await
            })
            .await?;
        DeadLetterPage::from_proto(resp)
    }

    /// Reserves the replay generation of one entry for a batch (or returns
    /// the one this batch already reserved).
    pub async fn begin_replay(&self, req: &BeginReplay) -> Result<ReplayTicket> {
        let resp = self
            .call(
                req.to_proto(),
                |mut c, r| async move { c.begin_replay(r).await },
            )
            .await?;
        ReplayTicket::from_proto(resp)
    }

    /// Records how a batch's republish of one entry went.
    pub async fn complete_replay(
        &self,
        id: i64,
        batch_id: &str,
        outcome: ReplayOutcome,
        result: &str,
    ) -> Result<DeadLetterChange> {
        let msg = pb::CompleteReplayRequest {
            id,
            batch_id: batch_id.to_owned(),
            outcome: replay_outcome_out(Some(outcome)),
            result: result.to_owned(),
        };
        let resp = self
            .call(msg, |mut c, r| async move { c.complete_replay(r).await })
            .await?;
        Ok(DeadLetterChange {
            dead_letter: DeadLetter::from_field(resp.dead_letter)?,
            applied: resp.applied,
        })
    }

    /// Discards one entry for good.
    pub async fn discard_dead_letter(&self, id: i64, reason: &str) -> Result<DeadLetterChange> {
        let msg = pb::DiscardDeadLetterRequest {
            id,
            reason: reason.to_owned(),
        };
        let resp = self
            .call(
                msg,
                |mut c, r| async move { c.discard_dead_letter(r).await },
            )
            .await?;
        Ok(DeadLetterChange {
            dead_letter: DeadLetter::from_field(resp.dead_letter)?,
            applied: resp.applied,
        })
    }
}
