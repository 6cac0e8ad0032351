//! Escalation messages.

use super::{datetime, json_in, optional_datetime, pb, timestamp};
use crate::error::{Error, Result};
use crate::types::{Escalation, EscalationOutcome, EscalationState, EscalationStatus};

impl Escalation {
    /// Writes the protobuf form (server side).
    pub fn to_proto(self) -> pb::Escalation {
        pb::Escalation {
            review_item_id: self.review_item_id,
            workflow: self.workflow,
            payload: self.payload.to_string().into_bytes(),
            attempts: self.attempts,
        }
    }

    /// Reads the protobuf form (client side).
    pub fn from_proto(e: pb::Escalation) -> Result<Self> {
        let payload = json_in("payload", Some(e.payload))?
            .ok_or_else(|| Error::Malformed("escalation payload missing".into()))?;
        Ok(Self {
            review_item_id: e.review_item_id,
            workflow: e.workflow,
            payload,
            attempts: e.attempts,
        })
    }
}

impl EscalationOutcome {
    /// Writes the request (client side).
    pub fn to_proto(&self) -> pb::RecordEscalationRequest {
        pb::RecordEscalationRequest {
            review_item_id: self.review_item_id,
            claimant: self.claimant.clone(),
            delivered: self.delivered,
            attempts: self.attempts,
            error: self.error.clone(),
        }
    }

    /// Reads the request (server side).
    pub fn from_proto(r: pb::RecordEscalationRequest) -> Result<Self> {
        if r.claimant.trim().is_empty() {
            return Err(Error::InvalidArgument("claimant is required".into()));
        }
        Ok(Self {
            review_item_id: r.review_item_id,
            claimant: r.claimant,
            delivered: r.delivered,
            attempts: r.attempts,
            error: r.error,
        })
    }
}

impl EscalationStatus {
    /// Writes the protobuf form (server side).
    pub fn to_proto(self) -> pb::EscalationStatus {
        pb::EscalationStatus {
            status: self.state.as_str().to_owned(),
            attempts: self.attempts,
            last_error: self.last_error,
            created_at: Some(timestamp(self.created_at)),
            finished_at: self.finished_at.map(timestamp),
        }
    }

    /// Reads the protobuf form (client side).
    pub fn from_proto(s: pb::EscalationStatus) -> Result<Self> {
        let state = EscalationState::parse(&s.status)
            .ok_or_else(|| Error::Malformed(format!("escalation status {:?}", s.status)))?;
        Ok(Self {
            state,
            attempts: s.attempts,
            last_error: s.last_error,
            created_at: datetime("created_at", s.created_at)?,
            finished_at: optional_datetime("finished_at", s.finished_at)?,
        })
    }
}
