//! Review-item messages.

use std::time::Duration;

use sluice_core::{ExecutionId, State};

use super::enums::{required, review_status_in, review_status_out};
use super::enums::{review_decision_in, review_decision_out, review_kind_in, review_kind_out};
use super::{datetime, json_in, json_out, optional_datetime, pb, timestamp, uuid};
use crate::error::{Error, Result};
use crate::types::{
    CreatedReviewItem, Decided, Decision, NewReviewItem, ReviewFilter, ReviewItem, ReviewPage,
};

fn json_object(field: &str, bytes: Vec<u8>) -> Result<serde_json::Value> {
    json_in(field, Some(bytes))?
        .filter(serde_json::Value::is_object)
        .ok_or_else(|| Error::InvalidArgument(format!("{field} must be a JSON object")))
}

fn duration_in(d: Option<prost_types::Duration>) -> Result<Option<Duration>> {
    d.map(|d| {
        let (secs, nanos) = (u64::try_from(d.seconds), u32::try_from(d.nanos));
        match (secs, nanos) {
            (Ok(secs), Ok(nanos)) => Ok(Duration::new(secs, nanos)),
            _ => Err(Error::InvalidArgument(
                "older_than must not be negative".into(),
            )),
        }
    })
    .transpose()
}

pub(super) fn duration_out(d: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

impl NewReviewItem {
    /// Reads a protobuf request (server side).
    pub fn from_proto(r: pb::CreateReviewItemRequest) -> Result<Self> {
        Ok(Self {
            execution_id: ExecutionId::from_uuid(uuid("execution_id", &r.execution_id)?),
            kind: required("kind", review_kind_in(r.kind))?,
            handoff: json_object("handoff", r.handoff)?,
            sla_due_at: optional_datetime("sla_due_at", r.sla_due_at)?,
            generation: r.generation,
        })
    }

    /// Writes the protobuf request (client side).
    pub fn to_proto(&self) -> pb::CreateReviewItemRequest {
        pb::CreateReviewItemRequest {
            execution_id: self.execution_id.as_uuid().to_string(),
            generation: self.generation.clone(),
            kind: review_kind_out(Some(self.kind)),
            handoff: self.handoff.to_string().into_bytes(),
            sla_due_at: self.sla_due_at.map(timestamp),
        }
    }
}

impl ReviewItem {
    /// Writes the protobuf message (server side).
    pub fn to_proto(self) -> pb::ReviewItem {
        pb::ReviewItem {
            id: self.id,
            execution_id: self.execution_id.to_string(),
            generation: self.generation,
            workflow: self.workflow,
            correlation_id: self.correlation_id,
            kind: review_kind_out(Some(self.kind)),
            handoff: self.handoff.to_string().into_bytes(),
            status: review_status_out(Some(self.status)),
            sla_due_at: self.sla_due_at.map(timestamp),
            created_at: Some(timestamp(self.created_at)),
            decided_at: self.decided_at.map(timestamp),
            decided_by: self.decided_by,
            decision_reason: self.decision_reason,
            corrections: json_out(self.corrections),
            manually_corrected: self.manually_corrected,
        }
    }

    /// Reads the protobuf message (client side).
    pub fn from_proto(i: pb::ReviewItem) -> Result<Self> {
        let malformed = |e: Error| Error::Malformed(e.to_string());
        Ok(Self {
            id: i.id,
            execution_id: uuid("execution_id", &i.execution_id)?,
            kind: required("kind", review_kind_in(i.kind)).map_err(malformed)?,
            handoff: json_object("handoff", i.handoff).map_err(malformed)?,
            status: required("status", review_status_in(i.status)).map_err(malformed)?,
            sla_due_at: optional_datetime("sla_due_at", i.sla_due_at)?,
            created_at: datetime("created_at", i.created_at)?,
            decided_at: optional_datetime("decided_at", i.decided_at)?,
            corrections: json_in("corrections", i.corrections)?,
            generation: i.generation,
            workflow: i.workflow,
            correlation_id: i.correlation_id,
            decided_by: i.decided_by,
            decision_reason: i.decision_reason,
            manually_corrected: i.manually_corrected,
        })
    }

    /// Reads an optional protobuf field that must be present (client side).
    pub(crate) fn from_field(i: Option<pb::ReviewItem>) -> Result<Self> {
        Self::from_proto(i.ok_or_else(|| Error::Malformed("item missing".into()))?)
    }
}

impl CreatedReviewItem {
    /// Writes the protobuf answer (server side).
    pub fn to_proto(self) -> pb::CreateReviewItemResponse {
        pb::CreateReviewItemResponse {
            item: Some(self.item.to_proto()),
            created: self.created,
        }
    }

    /// Reads the protobuf answer (client side).
    pub fn from_proto(r: pb::CreateReviewItemResponse) -> Result<Self> {
        Ok(Self {
            item: ReviewItem::from_field(r.item)?,
            created: r.created,
        })
    }
}

impl ReviewFilter {
    /// Reads a protobuf request (server side).
    pub fn from_proto(r: pb::ListReviewItemsRequest) -> Result<Self> {
        Ok(Self {
            status: review_status_in(r.status)?,
            older_than: duration_in(r.older_than)?,
            workflow: r.workflow,
            overdue: r.overdue,
            limit: r.limit,
            page_token: r.page_token,
        })
    }

    /// Writes the protobuf request (client side).
    pub fn to_proto(&self) -> pb::ListReviewItemsRequest {
        pb::ListReviewItemsRequest {
            workflow: self.workflow.clone(),
            status: review_status_out(self.status),
            older_than: self.older_than.map(duration_out),
            overdue: self.overdue,
            limit: self.limit,
            page_token: self.page_token.clone(),
        }
    }
}

impl ReviewPage {
    /// Writes the protobuf answer (server side).
    pub fn to_proto(self) -> pb::ListReviewItemsResponse {
        pb::ListReviewItemsResponse {
            items: self.items.into_iter().map(ReviewItem::to_proto).collect(),
            next_page_token: self.next_page_token,
        }
    }

    /// Reads the protobuf answer (client side).
    pub fn from_proto(r: pb::ListReviewItemsResponse) -> Result<Self> {
        Ok(Self {
            items: r
                .items
                .into_iter()
                .map(ReviewItem::from_proto)
                .collect::<Result<_>>()?,
            next_page_token: r.next_page_token,
        })
    }
}

impl Decision {
    /// Reads a protobuf request (server side).
    pub fn from_proto(r: pb::DecideReviewRequest) -> Result<Self> {
        Ok(Self {
            id: r.id,
            decision: required("decision", review_decision_in(r.decision))?,
            corrections: json_in("corrections", r.corrections)?,
            reason: r.reason,
        })
    }

    /// Writes the protobuf request (client side).
    pub fn to_proto(&self) -> pb::DecideReviewRequest {
        pb::DecideReviewRequest {
            id: self.id,
            decision: review_decision_out(Some(self.decision)),
            reason: self.reason.clone(),
            corrections: json_out(self.corrections.clone()),
        }
    }
}

impl Decided {
    /// Writes the protobuf answer (server side).
    pub fn to_proto(self) -> pb::DecideReviewResponse {
        pb::DecideReviewResponse {
            generation: self.item.resume_generation(),
            item: Some(self.item.to_proto()),
            state: self.state.as_str().to_owned(),
        }
    }

    /// Reads the protobuf answer (client side).
    pub fn from_proto(r: pb::DecideReviewResponse) -> Result<Self> {
        let state: State = r
            .state
            .parse()
            .map_err(|_| Error::Malformed(format!("state {:?}", r.state)))?;
        Ok(Self {
            item: ReviewItem::from_field(r.item)?,
            state,
        })
    }
}
