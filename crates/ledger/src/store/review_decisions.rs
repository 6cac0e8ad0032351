//! Deciding a review item: the decision, the execution's moves and their
//! journal rows, and the audit row commit in ONE transaction, so an item is
//! never decided without its execution moving, nor the other way round.

use serde_json::{Value, json};
use sluice_core::{ExecutionId, State};

use super::audit::{self, Act, Subject};
use super::executions::apply_transition;
use super::reviews::fetch;
use super::{Store, validate};
use crate::auth::Identity;
use crate::error::{Error, Result};
use crate::types::{Decided, Decision, Origin, ReviewDecision, ReviewStatus, Transition};

/// The moves a decision makes from a review state, in order.
fn moves(from: State, decision: ReviewDecision) -> Vec<(State, State)> {
    match decision {
        ReviewDecision::Approve => vec![(from, State::HumanApproved)],
        ReviewDecision::Reject => vec![
            (from, State::HumanRejected),
            (State::HumanRejected, State::Closed),
        ],
        ReviewDecision::Escalate => vec![
            (from, State::HumanEscalated),
            (State::HumanEscalated, State::Escalated),
        ],
    }
}

fn status(decision: ReviewDecision) -> ReviewStatus {
    match decision {
        ReviewDecision::Approve => ReviewStatus::Approved,
        ReviewDecision::Reject => ReviewStatus::Rejected,
        ReviewDecision::Escalate => ReviewStatus::Escalated,
    }
}

fn check(d: &Decision) -> Result<()> {
    validate::reason(&d.reason)?;
    match &d.corrections {
        Some(_) if d.decision != ReviewDecision::Approve => Err(Error::InvalidArgument(
            "only an approval can carry corrections".into(),
        )),
        Some(c) if !c.is_object() => Err(Error::InvalidArgument(
            "corrections must be a JSON object".into(),
        )),
        _ => Ok(()),
    }
}

/// The journal detail of a decision: names of corrected fields, never their
/// values (those stay on the review item).
fn journal_detail(d: &Decision) -> Value {
    let corrected: Vec<&String> = d
        .corrections
        .as_ref()
        .and_then(Value::as_object)
        .map(|c| c.keys().collect())
        .unwrap_or_default();
    json!({
        "review_id": d.id,
        "decision": d.decision.as_str(),
        "manually_corrected": d.corrections.is_some(),
        "corrected_fields": corrected,
    })
}

impl Store {
    /// Decides a review item and moves its execution with the same
    /// compare-and-set rules as [`Store::record_transition`].
    pub async fn decide_review(&self, d: &Decision, who: &Identity) -> Result<Decided> {
        check(d)?;
        let mut tx = self.pool().begin().await?;
        let item = fetch(&mut tx, d.id, true).await?;
        if item.status != ReviewStatus::Open {
            return Err(Error::Precondition(format!(
                "review item {} is already {} (by {})",
                d.id,
                item.status.as_str(),
                item.decided_by.as_deref().unwrap_or("unknown")
            )));
        }
        let current: String = sqlx::query_scalar!(
            "SELECT state FROM executions WHERE execution_id = $1 FOR UPDATE",
            item.execution_id
        )
        .fetch_one(&mut *tx)
        .await?;
        let from: State = current
            .parse()
            .map_err(|_| Error::Malformed(format!("stored execution state {current:?}")))?;
        if !matches!(from, State::HumanReviewPending | State::NeedsReview) {
            return Err(Error::Precondition(format!(
                "execution {} is in {from}, not waiting for review",
                item.execution_id
            )));
        }
        let mut state = from;
        for (from, to) in moves(from, d.decision) {
            let t = Transition {
                execution_id: ExecutionId::from_uuid(item.execution_id),
                from: Some(from),
                to,
                stage: "review".to_owned(),
                generation: item.resume_generation(),
                detail: Some(journal_detail(d)),
                exception_reason: None,
                final_outcome: to
                    .is_terminal()
                    .then(|| format!("{} by reviewer", status(d.decision).as_str())),
                origin: Origin::default(),
            };
            state = apply_transition(&mut tx, &t, &who.name).await?.state;
        }
        let decided = status(d.decision);
        sqlx::query!(
            r#"UPDATE review_items
               SET status = $2, decided_at = now(), decided_by = $3, decision_reason = $4,
                   corrections = $5, manually_corrected = $5::jsonb IS NOT NULL
               WHERE id = $1"#,
            d.id,
            decided.as_str(),
            who.name,
            d.reason,
            d.corrections
        )
        .execute(&mut *tx)
        .await?;
        let action = format!("review.{}", d.decision.as_str());
        let act = Act {
            who,
            action: &action,
            subject: Subject::ReviewItem(d.id),
            reason: &d.reason,
            result: state.as_str(),
            detail: Some(journal_detail(d)),
        };
        audit::append(&mut tx, act).await?;
        let item = fetch(&mut tx, d.id, false).await?;
        tx.commit().await?;
        Ok(Decided { item, state })
    }
}
