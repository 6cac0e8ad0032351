//! The backlog RPC.

use tonic::{Request, Response};

use super::{LedgerService, Reply};
use crate::access::Rpc;
use crate::convert::pb;

impl LedgerService {
    pub(super) async fn get_backlog(
        &self,
        req: Request<pb::GetBacklogRequest>,
    ) -> Reply<pb::GetBacklogResponse> {
        Rpc::GetBacklog.authorize(&req)?;
        Ok(Response::new(self.store.backlog().await?.to_proto()))
    }
}
