//! Typed client call for the backlog.

use super::LedgerClient;
use crate::convert::pb;
use crate::error::Result;
use crate::types::Backlog;

impl LedgerClient {
    /// Open review items per workflow and open dead letters per workflow
    /// and stage.
    pub async fn backlog(&self) -> Result<Backlog> {
        let resp = self
            .call(pb::GetBacklogRequest {}, |mut c, r| async move {
                c.get_backlog(r).await
            })
            .await?;
        Ok(Backlog::from_proto(resp))
    }
}
