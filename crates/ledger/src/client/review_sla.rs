//! Typed client calls for review items past their SLA: the overdue list,
//! the announcement mark, and the escalation webhooks it opens.
//!
//! All are safe to retry: the mark and the record are guarded no-ops on a
//! repeat, and a claim whose answer is lost only holds its rows until the
//! lease runs out.

use std::time::Duration;

use serde_json::Value;

use super::LedgerClient;
use crate::convert::pb;
use crate::error::Result;
use crate::types::{Escalation, EscalationOutcome, OverdueReviews, ReviewItem};

impl LedgerClient {
    /// Overdue review items not announced yet (at most `limit`), and the
    /// open overdue count per workflow.
    pub async fn overdue_reviews(&self, limit: u32) -> Result<OverdueReviews> {
        let msg = pb::ListOverdueReviewsRequest { limit };
        let resp = self
            .call(
                msg,
                |mut c, r| async move { c.list_overdue_reviews(r).await },
            )
            .await?;
        Ok(OverdueReviews {
            unannounced: resp
                .items
                .into_iter()
                .map(ReviewItem::from_proto)
                .collect::<Result<_>>()?,
            open_overdue: resp.open_overdue.into_iter().collect(),
        })
    }

    /// Records that item `id`'s overdue (and escalation) events went out,
    /// opening its escalation webhook with `escalation` as the payload when
    /// given; false when the mark was recorded already.
    pub async fn mark_review_overdue_announced(
        &self,
        id: i64,
        escalation: Option<&Value>,
    ) -> Result<bool> {
        let msg = pb::MarkReviewOverdueAnnouncedRequest {
            id,
            escalation: escalation.map(|e| e.to_string().into_bytes()),
        };
        let resp = self
            .call(msg, |mut c, r| async move {
                c.mark_review_overdue_announced(r).await
            })
            .await?;
        Ok(resp.applied)
    }

    /// Claims up to `limit` undelivered escalation webhooks for `claimant`,
    /// for `lease`.
    pub async fn claim_escalations(
        &self,
        claimant: &str,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<Escalation>> {
        let msg = pb::ClaimEscalationsRequest {
            claimant: claimant.to_owned(),
            lease_ms: u64::try_from(lease.as_millis()).unwrap_or(u64::MAX),
            limit,
        };
        let resp = self
            .call(msg, |mut c, r| async move { c.claim_escalations(r).await })
            .await?;
        resp.escalations
            .into_iter()
            .map(Escalation::from_proto)
            .collect()
    }

    /// Records how a claimed escalation webhook ended; false when the claim
    /// is no longer the caller's or it was recorded already.
    pub async fn record_escalation(&self, outcome: &EscalationOutcome) -> Result<bool> {
        let resp = self
            .call(outcome.to_proto(), |mut c, r| async move {
                c.record_escalation(r).await
            })
            .await?;
        Ok(resp.applied)
    }
}
