//! Audit records.

use super::{datetime, json_in, json_out, pb, timestamp};
use crate::error::Result;
use crate::types::AuditRecord;

impl AuditRecord {
    /// Writes the protobuf message (server side).
    pub fn to_proto(self) -> pb::AuditRecord {
        pb::AuditRecord {
            id: self.id,
            at: Some(timestamp(self.at)),
            actor: self.actor,
            role: self.role,
            action: self.action,
            subject_kind: self.subject_kind,
            subject_id: self.subject_id,
            reason: self.reason,
            result: self.result,
            detail: json_out(self.detail),
        }
    }

    /// Reads the protobuf message (client side).
    pub fn from_proto(a: pb::AuditRecord) -> Result<Self> {
        Ok(Self {
            id: a.id,
            at: datetime("at", a.at)?,
            detail: json_in("detail", a.detail)?,
            actor: a.actor,
            role: a.role,
            action: a.action,
            subject_kind: a.subject_kind,
            subject_id: a.subject_id,
            reason: a.reason,
            result: a.result,
        })
    }
}

/// Reads a list of audit records (client side).
pub(crate) fn trail_from_proto(audit: Vec<pb::AuditRecord>) -> Result<Vec<AuditRecord>> {
    audit.into_iter().map(AuditRecord::from_proto).collect()
}

/// Writes a list of audit records (server side).
pub(crate) fn trail_to_proto(audit: Vec<AuditRecord>) -> Vec<pb::AuditRecord> {
    audit.into_iter().map(AuditRecord::to_proto).collect()
}
