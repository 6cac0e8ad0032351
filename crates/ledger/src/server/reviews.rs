//! Review-item RPCs: open (services), read and list (reviewers, SREs),
//! decide (reviewers).

use tonic::{Request, Response};

use super::{LedgerService, Reply};
use crate::access::Rpc;
use crate::convert::{json_in, pb, trail_to_proto};
use crate::types::{Decision, EscalationStatus, NewReviewItem, ReviewFilter, ReviewItem};

impl LedgerService {
    pub(super) async fn create_review_item(
        &self,
        req: Request<pb::CreateReviewItemRequest>,
    ) -> Reply<pb::CreateReviewItemResponse> {
        Rpc::CreateReviewItem.authorize(&req)?;
        let new = NewReviewItem::from_proto(req.into_inner())?;
        let created = self.store.create_review_item(&new).await?;
        Ok(Response::new(created.to_proto()))
    }

    pub(super) async fn get_review_item(
        &self,
        req: Request<pb::GetReviewItemRequest>,
    ) -> Reply<pb::GetReviewItemResponse> {
        Rpc::GetReviewItem.authorize(&req)?;
        let id = req.into_inner().id;
        let item = self.store.get_review_item(id).await?;
        let audit = self.store.review_item_audit(id).await?;
        let escalation = self.store.escalation_status(id).await?;
        Ok(Response::new(pb::GetReviewItemResponse {
            item: Some(item.to_proto()),
            audit: trail_to_proto(audit),
            escalation: escalation.map(EscalationStatus::to_proto),
        }))
    }

    pub(super) async fn list_review_items(
        &self,
        req: Request<pb::ListReviewItemsRequest>,
    ) -> Reply<pb::ListReviewItemsResponse> {
        Rpc::ListReviewItems.authorize(&req)?;
        let filter = ReviewFilter::from_proto(req.into_inner())?;
        let page = self.store.list_review_items(&filter).await?;
        Ok(Response::new(page.to_proto()))
    }

    pub(super) async fn decide_review(
        &self,
        req: Request<pb::DecideReviewRequest>,
    ) -> Reply<pb::DecideReviewResponse> {
        let who = Rpc::DecideReview.authorize(&req)?;
        let decision = Decision::from_proto(req.into_inner())?;
        let decided = self.store.decide_review(&decision, &who).await?;
        tracing::info!(
            id = decision.id,
            decision = decision.decision.as_str(),
            state = %decided.state,
            actor = %who.name,
            "review decided"
        );
        self.observe_decision(&decision, &decided).await;
        Ok(Response::new(decided.to_proto()))
    }
}

impl LedgerService {
    pub(super) async fn list_overdue_reviews(
        &self,
        req: Request<pb::ListOverdueReviewsRequest>,
    ) -> Reply<pb::ListOverdueReviewsResponse> {
        Rpc::ListOverdueReviews.authorize(&req)?;
        let limit = match req.into_inner().limit {
            0 => 100,
            n => n,
        };
        let (items, open_overdue) = self.store.list_overdue_reviews(limit).await?;
        Ok(Response::new(pb::ListOverdueReviewsResponse {
            items: items.into_iter().map(ReviewItem::to_proto).collect(),
            open_overdue: open_overdue.into_iter().collect(),
        }))
    }

    pub(super) async fn mark_review_overdue_announced(
        &self,
        req: Request<pb::MarkReviewOverdueAnnouncedRequest>,
    ) -> Reply<pb::MarkReviewOverdueAnnouncedResponse> {
        Rpc::MarkReviewOverdueAnnounced.authorize(&req)?;
        let r = req.into_inner();
        let escalation = json_in("escalation", r.escalation)?;
        let applied = self
            .store
            .mark_review_overdue_announced(r.id, escalation.as_ref())
            .await?;
        Ok(Response::new(pb::MarkReviewOverdueAnnouncedResponse {
            applied,
        }))
    }
}
