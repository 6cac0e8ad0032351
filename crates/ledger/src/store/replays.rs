//! Governed operations on dead letters: two-phase replay and discard, each
//! audited in the same transaction as the change it records.
//!
//! A replay is resumable: [`Store::begin_replay`] reserves generation `n`
//! once per (entry, batch id), so a run interrupted and started again with the
//! same batch id republishes under the same Msg-Id (`…:replay:<n>`), and skips
//! entries whose publish [`Store::complete_replay`] already recorded.

use serde_json::json;

use super::audit::{self, Act, Subject};
use super::dead_letters::fetch;
use super::{Store, validate};
use crate::auth::Identity;
use crate::error::{Error, Result};
use crate::types::{
    BeginReplay, DEFAULT_MAX_REPLAYS, DeadLetterChange, DeadLetterStatus, ReplayOutcome,
    ReplayTicket, replay_generation,
};

fn generation(stored: i32) -> u32 {
    u32::try_from(stored).unwrap_or(0)
}

fn outcome(stored: Option<String>) -> Option<ReplayOutcome> {
    stored.as_deref().and_then(ReplayOutcome::parse)
}

impl Store {
    /// Reserves (or, for a known batch, returns again) the replay generation
    /// of one dead letter, and audits the reservation.
    pub async fn begin_replay(&self, req: &BeginReplay, who: &Identity) -> Result<ReplayTicket> {
        validate::reason(&req.reason)?;
        validate::text("batch_id", &req.batch_id)?;
        let max = match req.max_replays {
            0 => DEFAULT_MAX_REPLAYS,
            n => n,
        };
        let mut tx = self.pool().begin().await?;
        // Lock the entry: concurrent batches get consecutive generations.
        let entry = sqlx::query!(
            "SELECT status, replay_count, erased_at FROM dead_letters WHERE id = $1 FOR UPDATE",
            req.id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::NotFound(format!("dead letter {}", req.id)))?;
        // Checked before a resumed batch too: an erased payload is empty, and
        // republishing it would send nothing a stage could process.
        if entry.erased_at.is_some() {
            return Err(Error::Precondition(format!(
                "dead letter {} was erased: its payload is gone and cannot be replayed",
                req.id
            )));
        }
        let earlier = sqlx::query!(
            r#"SELECT generation, outcome, begun_at FROM dead_letter_replays
               WHERE dead_letter_id = $1 AND batch_id = $2"#,
            req.id,
            req.batch_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(earlier) = earlier {
            // A resumed batch: same generation, whatever happened since.
            let dead_letter = fetch(&mut tx, req.id).await?;
            tx.commit().await?;
            return Ok(ReplayTicket {
                generation: generation(earlier.generation),
                resumed: true,
                outcome: outcome(earlier.outcome),
                dead_letter,
                begun_at: earlier.begun_at,
            });
        }
        if entry.status == DeadLetterStatus::Discarded.as_str() {
            return Err(Error::Precondition(format!(
                "dead letter {} is discarded and cannot be replayed",
                req.id
            )));
        }
        if generation(entry.replay_count) >= max {
            return Err(Error::Precondition(format!(
                "dead letter {} was replayed {} times; the limit is {max}",
                req.id, entry.replay_count
            )));
        }
        let n = sqlx::query_scalar!(
            r#"UPDATE dead_letters SET replay_count = replay_count + 1, updated_at = now()
               WHERE id = $1 RETURNING replay_count"#,
            req.id
        )
        .fetch_one(&mut *tx)
        .await?;
        let begun_at = sqlx::query_scalar!(
            r#"INSERT INTO dead_letter_replays (dead_letter_id, batch_id, generation, reason, actor)
               VALUES ($1, $2, $3, $4, $5) RETURNING begun_at"#,
            req.id,
            req.batch_id,
            n,
            req.reason,
            who.name
        )
        .fetch_one(&mut *tx)
        .await?;
        let label = replay_generation(generation(n));
        let act = Act {
            who,
            action: "dlq.replay.begin",
            subject: Subject::DeadLetter(req.id),
            reason: &req.reason,
            result: &label,
            detail: Some(json!({ "batch_id": req.batch_id, "max_replays": max })),
        };
        audit::append(&mut tx, act).await?;
        let dead_letter = fetch(&mut tx, req.id).await?;
        tx.commit().await?;
        Ok(ReplayTicket {
            generation: generation(n),
            resumed: false,
            outcome: None,
            dead_letter,
            begun_at,
        })
    }

    /// Records how a replay's publish went; a published replay marks the entry
    /// REPLAYED (unless it was discarded meanwhile). `published` is final: a
    /// repeat, or a later `failed`, changes nothing (`applied = false`).
    pub async fn complete_replay(
        &self,
        id: i64,
        batch_id: &str,
        result: ReplayOutcome,
        detail: &str,
        who: &Identity,
    ) -> Result<DeadLetterChange> {
        validate::text("batch_id", batch_id)?;
        let mut tx = self.pool().begin().await?;
        let updated = sqlx::query!(
            r#"UPDATE dead_letter_replays SET outcome = $3, completed_at = now()
               WHERE dead_letter_id = $1 AND batch_id = $2
                 AND outcome IS DISTINCT FROM 'published' AND outcome IS DISTINCT FROM $3
               RETURNING generation, reason"#,
            id,
            batch_id,
            result.as_str()
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(replay) = updated else {
            let known = sqlx::query_scalar!(
                "SELECT 1 FROM dead_letter_replays WHERE dead_letter_id = $1 AND batch_id = $2",
                id,
                batch_id
            )
            .fetch_optional(&mut *tx)
            .await?;
            if known.is_none() {
                return Err(Error::Precondition(format!(
                    "batch {batch_id:?} never began a replay of dead letter {id}"
                )));
            }
            let dead_letter = fetch(&mut tx, id).await?;
            return Ok(DeadLetterChange {
                dead_letter,
                applied: false,
            });
        };
        if result == ReplayOutcome::Published {
            sqlx::query!(
                r#"UPDATE dead_letters SET status = 'REPLAYED', updated_at = now()
                   WHERE id = $1 AND status <> 'DISCARDED'"#,
                id
            )
            .execute(&mut *tx)
            .await?;
        }
        let label = replay_generation(generation(replay.generation));
        let outcome = format!("{label} {}", result.as_str());
        let act = Act {
            who,
            action: "dlq.replay.complete",
            subject: Subject::DeadLetter(id),
            reason: &replay.reason,
            result: &outcome,
            detail: Some(json!({ "batch_id": batch_id, "result": detail })),
        };
        audit::append(&mut tx, act).await?;
        let dead_letter = fetch(&mut tx, id).await?;
        tx.commit().await?;
        Ok(DeadLetterChange {
            dead_letter,
            applied: true,
        })
    }

    /// Discards a dead letter for good (audited); a repeat is a no-op.
    pub async fn discard_dead_letter(
        &self,
        id: i64,
        reason: &str,
        who: &Identity,
    ) -> Result<DeadLetterChange> {
        validate::reason(reason)?;
        let mut tx = self.pool().begin().await?;
        let discarded = sqlx::query_scalar!(
            r#"UPDATE dead_letters SET status = 'DISCARDED', updated_at = now()
               WHERE id = $1 AND status <> 'DISCARDED' RETURNING id"#,
            id
        )
        .fetch_optional(&mut *tx)
        .await?;
        if discarded.is_some() {
            let act = Act {
                who,
                action: "dlq.discard",
                subject: Subject::DeadLetter(id),
                reason,
                result: DeadLetterStatus::Discarded.as_str(),
                detail: None,
            };
            audit::append(&mut tx, act).await?;
        }
        let dead_letter = fetch(&mut tx, id).await?;
        tx.commit().await?;
        Ok(DeadLetterChange {
            dead_letter,
            applied: discarded.is_some(),
        })
    }
}
