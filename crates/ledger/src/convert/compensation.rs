//! Compensation messages.

use sluice_core::State;

use super::{datetime, pb, timestamp};
use crate::error::{Error, Result};
use crate::types::{Revert, Undo};

impl Revert {
    /// Writes the protobuf answer (server side).
    pub fn to_proto(self) -> pb::RevertExecutionResponse {
        pb::RevertExecutionResponse {
            started: self.started,
            state: self.state.as_str().to_owned(),
            undo: self
                .undo
                .into_iter()
                .map(|u| pb::Undo {
                    action: u.action,
                    key: u.key,
                })
                .collect(),
            requested_by: self.requested_by,
            reason: self.reason,
            requested_at: Some(timestamp(self.requested_at)),
            workflow: self.workflow,
            source: self.source,
            event_id: self.event_id,
            correlation_id: self.correlation_id,
            received_at: Some(timestamp(self.received_at)),
        }
    }

    /// Reads the protobuf answer (client side).
    pub fn from_proto(resp: pb::RevertExecutionResponse) -> Result<Self> {
        let state: State = resp
            .state
            .parse()
            .map_err(|_| Error::Malformed(format!("state {:?}", resp.state)))?;
        Ok(Self {
            started: resp.started,
            state,
            undo: resp
                .undo
                .into_iter()
                .map(|u| Undo {
                    action: u.action,
                    key: u.key,
                })
                .collect(),
            requested_by: resp.requested_by,
            reason: resp.reason,
            requested_at: datetime("requested_at", resp.requested_at)?,
            workflow: resp.workflow,
            source: resp.source,
            event_id: resp.event_id,
            correlation_id: resp.correlation_id,
            received_at: datetime("received_at", resp.received_at)?,
        })
    }
}
