//! Open clarifications, kept under the workflow's conversation key.
//!
//! When the gate asks the user for a missing detail, what was already
//! understood is parked here; the user's next message in the same
//! conversation starts a new execution whose interpreter takes it back and
//! completes it. Entries expire with the bucket's max age, so a late answer
//! starts from scratch instead of completing a stale request.

use std::time::Duration;

use async_nats::jetstream::kv;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sluice_core::ExecutionId;

use crate::{Bus, Error};

/// How long a clarification waits by default.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// What was collected of a request while the user is asked for the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingRequest {
    /// The execution that asked.
    pub execution_id: ExecutionId,
    /// The partial contract.
    pub contract: serde_json::Value,
    /// The fields the user was asked for.
    pub missing: Vec<String>,
    /// When the question was asked.
    pub asked_at: DateTime<Utc>,
}

/// The open-clarifications bucket of one installation.
#[derive(Debug, Clone)]
pub struct Conversations {
    store: kv::Store,
    bucket: String,
}

impl Bus {
    /// The open-clarifications bucket (provisioned by [`Bus::provision`]).
    pub async fn conversations(&self) -> Result<Conversations, Error> {
        let bucket = self.subjects().conversations_bucket();
        let store = self
            .jetstream()
            .get_key_value(&bucket)
            .await
            .map_err(|e| Error::Bucket {
                bucket: bucket.clone(),
                source: e.into(),
            })?;
        Ok(Conversations { store, bucket })
    }
}

impl Conversations {
    /// Parks `pending` for `conversation` of `workflow`, replacing any older one.
    pub async fn park(
        &self,
        workflow: &str,
        conversation: &str,
        pending: &PendingRequest,
    ) -> Result<(), Error> {
        let value = serde_json::to_vec(pending).map_err(sluice_core::Error::from)?;
        self.store
            .put(key(workflow, conversation), value.into())
            .await
            .map_err(|e| self.fail(e.into()))?;
        Ok(())
    }

    /// The open clarification of `conversation`, if any. It stays parked:
    /// the caller removes it with [`Conversations::close`] once the new
    /// execution has safely recorded what it took, so a crash in between
    /// loses nothing.
    pub async fn open(
        &self,
        workflow: &str,
        conversation: &str,
    ) -> Result<Option<PendingRequest>, Error> {
        let entry = self
            .store
            .get(key(workflow, conversation))
            .await
            .map_err(|e| self.fail(e.into()))?;
        entry
            .map(|bytes| {
                serde_json::from_slice(&bytes).map_err(|e| sluice_core::Error::from(e).into())
            })
            .transpose()
    }

    /// Removes the open clarification of `conversation` (idempotent).
    pub async fn close(&self, workflow: &str, conversation: &str) -> Result<(), Error> {
        self.store
            .delete(key(workflow, conversation))
            .await
            .map_err(|e| self.fail(e.into()))
    }

    fn fail(&self, source: async_nats::Error) -> Error {
        Error::Bucket {
            bucket: self.bucket.clone(),
            source,
        }
    }
}

/// KV keys allow only `[-/_=.a-zA-Z0-9]`; conversation keys hold phone
/// numbers, `+`, `:` and `@`, so the conversation part is hex-encoded.
fn key(workflow: &str, conversation: &str) -> String {
    let hex: String = conversation.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{workflow}.{hex}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_valid_kv_keys_and_distinct() {
        let a = super::key("reservation", "whatsapp:+34600000000");
        let b = super::key("reservation", "whatsapp:+34600000001");
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-/_=.".contains(&c)),
            "{a}"
        );
    }
}
