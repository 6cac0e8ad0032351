//! Settings and erasure messages.

use std::time::Duration;

use super::optional_datetime;
use super::reviews::duration_out;
use super::{pb, timestamp};
use crate::error::{Error, Result};
use crate::types::{Erasure, Settings, StreamMessage};

impl Settings {
    /// Writes the protobuf answer (server side).
    pub fn to_proto(self) -> pb::GetSettingsResponse {
        pb::GetSettingsResponse {
            key_retention: Some(duration_out(self.key_retention)),
        }
    }

    /// Reads the protobuf answer (client side).
    pub fn from_proto(resp: pb::GetSettingsResponse) -> Result<Self> {
        let d = resp
            .key_retention
            .ok_or_else(|| Error::Malformed("key_retention missing".into()))?;
        let secs = u64::try_from(d.seconds);
        let nanos = u32::try_from(d.nanos);
        let key_retention = match (secs, nanos) {
            (Ok(secs), Ok(nanos)) => Duration::new(secs, nanos),
            _ => return Err(Error::Malformed("key_retention is negative".into())),
        };
        Ok(Self { key_retention })
    }
}

impl Erasure {
    /// Writes the protobuf answer (server side).
    pub fn to_proto(self) -> pb::EraseExecutionResponse {
        pb::EraseExecutionResponse {
            applied: self.applied,
            erased_at: self.erased_at.map(timestamp),
            journal_entries: self.journal_entries,
            review_items: self.review_items,
            keys: self.keys,
            dead_letters: self.dead_letters,
            messages: self
                .messages
                .into_iter()
                .map(|m| pb::StreamMessage {
                    stream: m.stream,
                    sequence: m.sequence,
                })
                .collect(),
        }
    }

    /// Reads the protobuf answer (client side).
    pub fn from_proto(resp: pb::EraseExecutionResponse) -> Result<Self> {
        Ok(Self {
            applied: resp.applied,
            erased_at: optional_datetime("erased_at", resp.erased_at)?,
            journal_entries: resp.journal_entries,
            review_items: resp.review_items,
            keys: resp.keys,
            dead_letters: resp.dead_letters,
            messages: resp
                .messages
                .into_iter()
                .map(|m| StreamMessage {
                    stream: m.stream,
                    sequence: m.sequence,
                })
                .collect(),
        })
    }
}
