//! Typed client calls for review items and the caller's identity.
//!
//! Opening an item is safe to retry (idempotent by execution and
//! generation). A decision is not repeatable: if its answer is lost and the
//! retry finds the item decided, the retry fails with FAILED_PRECONDITION
//! naming who decided; read the item to see the outcome.

use std::str::FromStr;

use super::LedgerClient;
use crate::auth::{Identity, Role};
use crate::convert::{pb, trail_from_proto};
use crate::error::{Error, Result};
use crate::types::{
    AuditRecord, CreatedReviewItem, Decided, Decision, EscalationStatus, NewReviewItem,
    ReviewDetail, ReviewFilter, ReviewItem, ReviewPage,
};

impl LedgerClient {
    /// Who the ledger thinks this client is.
    pub async fn who_am_i(&self) -> Result<Identity> {
        let resp = self
            .call(pb::WhoAmIRequest {}, |mut c, r| async move {
                c.who_am_i(r).await
            })
            .await?;
        let role = Role::from_str(&resp.role).map_err(|e| Error::Malformed(e.to_string()))?;
        Ok(Identity {
            name: resp.name,
            role,
        })
    }

    /// Opens a review item (once per execution and generation).
    pub async fn create_review_item(&self, new: &NewReviewItem) -> Result<CreatedReviewItem> {
        let resp = self
            .call(new.to_proto(), |mut c, r| async move {
                c.create_review_item(r).await
            })
            .await?;
        CreatedReviewItem::from_proto(resp)
    }

    /// Reads one review item and its audit trail.
    pub async fn get_review_item(&self, id: i64) -> Result<(ReviewItem, Vec<AuditRecord>)> {
        let detail = self.review_item_detail(id).await?;
        Ok((detail.item, detail.audit))
    }

    /// Reads one review item with its audit trail and its escalation
    /// webhook's state.
    pub async fn review_item_detail(&self, id: i64) -> Result<ReviewDetail> {
        let msg = pb::GetReviewItemRequest { id };
        let resp = self
            .call(msg, |mut c, r| async move { c.get_review_item(r).await })
            .await?;
        Ok(ReviewDetail {
            item: ReviewItem::from_field(resp.item)?,
            audit: trail_from_proto(resp.audit)?,
            escalation: resp
                .escalation
                .map(EscalationStatus::from_proto)
                .transpose()?,
        })
    }

    /// Lists review items, oldest first.
    pub async fn list_review_items(&self, filter: &ReviewFilter) -> Result<ReviewPage> {
        let resp = self
            .call(filter.to_proto(), |mut c, r| async move {
                c.list_review_items(r).await
            })
            .await?;
        ReviewPage::from_proto(resp)
    }

    /// Decides a review item; the execution moves in the same transaction.
    pub async fn decide_review(&self, decision: &Decision) -> Result<Decided> {
        let resp = self
            .call(decision.to_proto(), |mut c, r| async move {
                c.decide_review(r).await
            })
            .await?;
        Decided::from_proto(resp)
    }
}
