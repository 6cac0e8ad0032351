//! Escalation-webhook RPCs: claimed and recorded by the dead-letter
//! service.

use std::time::Duration;

use tonic::{Request, Response};

use super::{LedgerService, Reply};
use crate::access::Rpc;
use crate::convert::pb;
use crate::error::Error;
use crate::types::{Escalation, EscalationOutcome};

impl LedgerService {
    pub(super) async fn claim_escalations(
        &self,
        req: Request<pb::ClaimEscalationsRequest>,
    ) -> Reply<pb::ClaimEscalationsResponse> {
        Rpc::ClaimEscalations.authorize(&req)?;
        let r = req.into_inner();
        if r.claimant.trim().is_empty() || r.lease_ms == 0 {
            let why = "a claimant and a lease_ms above 0 are required";
            return Err(Error::InvalidArgument(why.into()).into());
        }
        let limit = match r.limit {
            0 => 20,
            n => n,
        };
        let lease = Duration::from_millis(r.lease_ms);
        let claimed = self
            .store
            .claim_escalations(&r.claimant, lease, limit)
            .await?;
        Ok(Response::new(pb::ClaimEscalationsResponse {
            escalations: claimed.into_iter().map(Escalation::to_proto).collect(),
        }))
    }

    pub(super) async fn record_escalation(
        &self,
        req: Request<pb::RecordEscalationRequest>,
    ) -> Reply<pb::RecordEscalationResponse> {
        Rpc::RecordEscalation.authorize(&req)?;
        let outcome = EscalationOutcome::from_proto(req.into_inner())?;
        let applied = self.store.record_escalation(&outcome).await?;
        Ok(Response::new(pb::RecordEscalationResponse { applied }))
    }
}
