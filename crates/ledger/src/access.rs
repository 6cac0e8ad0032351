//! Who may call which RPC: the one table of per-RPC roles.
//!
//! Admin may call everything. Services run the pipeline (keys, transitions,
//! recording dead letters and opening review items); reviewers decide review
//! items; SREs handle dead letters, erase personal payload and read the
//! review queue. Trigger tokens (upstream systems starting executions
//! through ingest) may only ask who they are. Reviewers and SREs may ask for a completed execution's
//! effects to be undone (the executor runs the compensation). So a reviewer
//! cannot replay dead letters or erase an execution, and a service can
//! neither decide reviews nor start a revert.

use tonic::{Request, Status};

use crate::auth::{Identity, Role, authorize};

/// Every RPC of `sluice.ledger.v1.Ledger`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // The variants are the RPC names.
pub enum Rpc {
    Begin,
    MarkAttempted,
    Complete,
    Fail,
    Heartbeat,
    GetKey,
    RecordTransition,
    GetExecution,
    ListExecutions,
    WhoAmI,
    GetSettings,
    EraseExecution,
    RevertExecution,
    RecordDeadLetter,
    GetDeadLetter,
    ListDeadLetters,
    BeginReplay,
    CompleteReplay,
    DiscardDeadLetter,
    CreateReviewItem,
    GetReviewItem,
    ListReviewItems,
    DecideReview,
    RecordSwitchChange,
    ListAudit,
    WorkflowStats,
    ListOverdueReviews,
    MarkReviewOverdueAnnounced,
    ClaimEscalations,
    RecordEscalation,
    GetBacklog,
}

use Role::{Admin, Reviewer, Service, Sre, Trigger};

impl Rpc {
    /// Every RPC of the service.
    pub const ALL: &[Rpc] = &[
        Rpc::Begin,
        Rpc::MarkAttempted,
        Rpc::Complete,
        Rpc::Fail,
        Rpc::Heartbeat,
        Rpc::GetKey,
        Rpc::RecordTransition,
        Rpc::GetExecution,
        Rpc::ListExecutions,
        Rpc::WhoAmI,
        Rpc::GetSettings,
        Rpc::EraseExecution,
        Rpc::RevertExecution,
        Rpc::RecordDeadLetter,
        Rpc::GetDeadLetter,
        Rpc::ListDeadLetters,
        Rpc::BeginReplay,
        Rpc::CompleteReplay,
        Rpc::DiscardDeadLetter,
        Rpc::CreateReviewItem,
        Rpc::GetReviewItem,
        Rpc::ListReviewItems,
        Rpc::DecideReview,
        Rpc::RecordSwitchChange,
        Rpc::ListAudit,
        Rpc::WorkflowStats,
        Rpc::ListOverdueReviews,
        Rpc::MarkReviewOverdueAnnounced,
        Rpc::ClaimEscalations,
        Rpc::RecordEscalation,
        Rpc::GetBacklog,
    ];

    /// The RPC a gRPC method name (`Begin`, `ListReviewItems`…) names.
    pub fn from_method(method: &str) -> Option<Rpc> {
        Rpc::ALL.iter().copied().find(|rpc| rpc.method() == method)
    }

    /// The gRPC method name.
    pub fn method(self) -> String {
        format!("{self:?}")
    }

    /// The roles allowed to call this RPC.
    pub const fn roles(self) -> &'static [Role] {
        match self {
            Rpc::Begin
            | Rpc::MarkAttempted
            | Rpc::Complete
            | Rpc::Fail
            | Rpc::Heartbeat
            | Rpc::GetKey
            | Rpc::RecordTransition
            | Rpc::RecordDeadLetter
            | Rpc::CreateReviewItem
            | Rpc::ListOverdueReviews
            | Rpc::MarkReviewOverdueAnnounced
            | Rpc::ClaimEscalations
            | Rpc::RecordEscalation => &[Service, Admin],
            Rpc::GetExecution | Rpc::ListExecutions => &[Service, Reviewer, Sre, Admin],
            // A trigger token's one call: ingest learns whose it is.
            Rpc::WhoAmI => &[Service, Reviewer, Sre, Admin, Trigger],
            Rpc::GetSettings => &[Service, Reviewer, Sre, Admin],
            Rpc::GetDeadLetter
            | Rpc::ListDeadLetters
            | Rpc::BeginReplay
            | Rpc::CompleteReplay
            | Rpc::DiscardDeadLetter
            | Rpc::EraseExecution => &[Sre, Admin],
            Rpc::GetReviewItem | Rpc::ListReviewItems => &[Reviewer, Sre, Admin],
            Rpc::DecideReview => &[Reviewer, Admin],
            // The person who reviews a workflow's changes may undo them.
            Rpc::RevertExecution => &[Reviewer, Sre, Admin],
            // A service may only record a breaker trip; the handler checks.
            Rpc::RecordSwitchChange => &[Service, Sre, Admin],
            Rpc::ListAudit => &[Sre, Admin],
            Rpc::WorkflowStats | Rpc::GetBacklog => &[Service, Sre, Admin],
        }
    }

    /// Checks the authenticated caller against this RPC's roles; returns the
    /// identity for the audit trail.
    pub fn authorize<T>(self, req: &Request<T>) -> Result<Identity, Status> {
        authorize(req, self.roles())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_may_call_everything() {
        for rpc in Rpc::ALL {
            assert!(rpc.roles().contains(&Admin), "{rpc:?}");
        }
    }

    #[test]
    fn separation_of_duties() {
        let allowed = |rpc: Rpc, role| rpc.roles().contains(&role);
        for rpc in [
            Rpc::BeginReplay,
            Rpc::CompleteReplay,
            Rpc::DiscardDeadLetter,
            Rpc::EraseExecution,
        ] {
            assert!(!allowed(rpc, Reviewer) && !allowed(rpc, Service), "{rpc:?}");
        }
        assert!(!allowed(Rpc::DecideReview, Service));
        assert!(!allowed(Rpc::DecideReview, Sre));
        assert!(!allowed(Rpc::RevertExecution, Service));
        assert!(!allowed(Rpc::RecordDeadLetter, Reviewer));
        assert!(!allowed(Rpc::Begin, Sre) && !allowed(Rpc::Begin, Reviewer));
        assert!(!allowed(Rpc::RecordSwitchChange, Reviewer));
        assert!(!allowed(Rpc::ListAudit, Reviewer) && !allowed(Rpc::ListAudit, Service));
    }

    #[test]
    fn every_rpc_of_the_proto_is_listed() {
        let proto = include_str!("../../../proto/sluice/ledger/v1/ledger.proto");
        let declared: std::collections::BTreeSet<String> = proto
            .lines()
            .filter_map(|l| l.trim().strip_prefix("rpc "))
            .filter_map(|l| l.split('(').next())
            .map(|m| m.trim().to_owned())
            .collect();
        let listed = Rpc::ALL.iter().map(|r| r.method()).collect();
        assert_eq!(declared, listed);
        assert_eq!(Rpc::from_method("Begin"), Some(Rpc::Begin));
        assert_eq!(Rpc::from_method("Bogus"), None);
    }

    #[test]
    fn a_trigger_token_may_only_ask_who_it_is() {
        let allowed: Vec<Rpc> = Rpc::ALL
            .iter()
            .copied()
            .filter(|rpc| rpc.roles().contains(&Trigger))
            .collect();
        assert_eq!(allowed, [Rpc::WhoAmI]);
    }

    #[test]
    fn only_sres_and_admins_erase_and_everyone_reads_settings() {
        assert_eq!(Rpc::EraseExecution.roles(), &[Sre, Admin]);
        for role in [Service, Reviewer, Sre, Admin] {
            assert!(Rpc::GetSettings.roles().contains(&role), "{role:?}");
        }
    }
}
