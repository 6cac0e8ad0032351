//! Idempotency-key messages.

use std::time::Duration;

use sluice_core::ExecutionId;

use super::{datetime, json_in, json_out, optional_datetime, pb, timestamp, uuid};
use crate::error::{Error, Result};
use crate::types::{BeginOutcome, BeginRequest, FailureKind, KeyRecord};
use pb::begin_response::Result as Answer;

impl BeginRequest {
    /// Reads a protobuf request (server side).
    pub fn from_proto(req: pb::BeginRequest) -> Result<Self> {
        let execution_id = match req.execution_id.as_str() {
            "" => None,
            id => Some(ExecutionId::from_uuid(uuid("execution_id", id)?)),
        };
        Ok(Self {
            key: req.key,
            fingerprint: req.fingerprint,
            owner: req.owner,
            lease: Duration::from_millis(req.lease_ms),
            execution_id,
            target_honours_keys: req.target_honours_keys,
            supersede_review: req.supersede.map(|s| s.review_id),
        })
    }

    /// Writes the protobuf request (client side).
    pub fn to_proto(&self) -> pb::BeginRequest {
        pb::BeginRequest {
            key: self.key.clone(),
            fingerprint: self.fingerprint.clone(),
            owner: self.owner.clone(),
            lease_ms: u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX),
            execution_id: self
                .execution_id
                .map(|id| id.as_uuid().to_string())
                .unwrap_or_default(),
            target_honours_keys: self.target_honours_keys,
            supersede: self
                .supersede_review
                .clone()
                .map(|review_id| pb::Supersede { review_id }),
        }
    }
}

impl BeginOutcome {
    /// Writes the protobuf answer (server side).
    pub fn to_proto(self) -> pb::BeginResponse {
        let answer = match self {
            BeginOutcome::Started {
                fencing_token,
                resume_from,
                attempt,
            } => Answer::Started(pb::Started {
                fencing_token,
                resume_from: json_out(resume_from),
                attempt,
            }),
            BeginOutcome::InProgress {
                owner,
                lease_expires_at,
            } => Answer::InProgress(pb::InProgress {
                state: "in_progress".to_owned(),
                owner,
                lease_expires_at: Some(timestamp(lease_expires_at)),
            }),
            BeginOutcome::Completed { result } => Answer::Completed(pb::Completed {
                result: json_out(result),
            }),
            BeginOutcome::Unknown { reason, last_owner } => {
                Answer::Unknown(pb::Unknown { reason, last_owner })
            }
            BeginOutcome::FailedPermanent { reason } => {
                Answer::FailedPermanent(pb::FailedPermanent { reason })
            }
            BeginOutcome::Conflict {
                recorded_fingerprint,
            } => Answer::Conflict(pb::Conflict {
                recorded_fingerprint,
            }),
        };
        pb::BeginResponse {
            result: Some(answer),
        }
    }

    /// Reads the protobuf answer (client side).
    pub fn from_proto(resp: pb::BeginResponse) -> Result<Self> {
        let answer = resp
            .result
            .ok_or_else(|| Error::Malformed("Begin without answer".into()))?;
        Ok(match answer {
            Answer::Started(s) => BeginOutcome::Started {
                fencing_token: s.fencing_token,
                resume_from: json_in("resume_from", s.resume_from)?,
                attempt: s.attempt,
            },
            Answer::InProgress(p) => BeginOutcome::InProgress {
                owner: p.owner,
                lease_expires_at: datetime("lease_expires_at", p.lease_expires_at)?,
            },
            Answer::Completed(c) => BeginOutcome::Completed {
                result: json_in("result", c.result)?,
            },
            Answer::Unknown(u) => BeginOutcome::Unknown {
                reason: u.reason,
                last_owner: u.last_owner,
            },
            Answer::FailedPermanent(f) => BeginOutcome::FailedPermanent { reason: f.reason },
            Answer::Conflict(c) => BeginOutcome::Conflict {
                recorded_fingerprint: c.recorded_fingerprint,
            },
        })
    }
}

impl FailureKind {
    /// Reads the protobuf enum.
    pub fn from_proto(kind: i32) -> Result<Self> {
        match pb::FailureKind::try_from(kind) {
            Ok(pb::FailureKind::Recoverable) => Ok(FailureKind::Recoverable),
            Ok(pb::FailureKind::Permanent) => Ok(FailureKind::Permanent),
            _ => Err(Error::InvalidArgument(
                "kind must be RECOVERABLE or PERMANENT".into(),
            )),
        }
    }

    /// Writes the protobuf enum.
    pub fn to_proto(self) -> pb::FailureKind {
        match self {
            FailureKind::Recoverable => pb::FailureKind::Recoverable,
            FailureKind::Permanent => pb::FailureKind::Permanent,
        }
    }
}

impl KeyRecord {
    /// Writes the protobuf record (server side).
    pub fn to_proto(self) -> pb::KeyRecord {
        pb::KeyRecord {
            key: self.key,
            fingerprint: self.fingerprint,
            state: self.state,
            owner: self.owner,
            fencing_token: self.fencing_token,
            lease_expires_at: self.lease_expires_at.map(timestamp),
            effect_attempted: self.effect_attempted,
            result: json_out(self.result),
            recovery_point: json_out(self.recovery_point),
            failure_reason: self.failure_reason,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            superseded_by_review: self.superseded_by_review,
            execution_id: self.execution_id.map(|id| id.to_string()),
            created_at: Some(timestamp(self.created_at)),
            updated_at: Some(timestamp(self.updated_at)),
        }
    }

    /// Reads the protobuf record (client side).
    pub fn from_proto(r: pb::KeyRecord) -> Result<Self> {
        Ok(Self {
            lease_expires_at: optional_datetime("lease_expires_at", r.lease_expires_at)?,
            result: json_in("result", r.result)?,
            recovery_point: json_in("recovery_point", r.recovery_point)?,
            attempts: i32::try_from(r.attempts).unwrap_or(i32::MAX),
            execution_id: r
                .execution_id
                .as_deref()
                .map(|id| uuid("execution_id", id))
                .transpose()?,
            created_at: datetime("created_at", r.created_at)?,
            updated_at: datetime("updated_at", r.updated_at)?,
            key: r.key,
            fingerprint: r.fingerprint,
            state: r.state,
            owner: r.owner,
            fencing_token: r.fencing_token,
            effect_attempted: r.effect_attempted,
            failure_reason: r.failure_reason,
            superseded_by_review: r.superseded_by_review,
        })
    }
}
