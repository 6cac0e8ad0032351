//! Dead-letter RPCs: record (services), read, list, replay, discard (SREs).

use tonic::{Request, Response};

use super::{LedgerService, Reply};
use crate::access::Rpc;
use crate::convert::{pb, replay_outcome_in, required, trail_to_proto};
use crate::types::{BeginReplay, DeadLetterFilter, NewDeadLetter};

impl LedgerService {
    pub(super) async fn record_dead_letter(
        &self,
        req: Request<pb::RecordDeadLetterRequest>,
    ) -> Reply<pb::RecordDeadLetterResponse> {
        Rpc::RecordDeadLetter.authorize(&req)?;
        let new = NewDeadLetter::from_proto(req.into_inner())?;
        let recorded = self.store.record_dead_letter(&new).await?;
        if recorded.created {
            tracing::info!(
                id = recorded.dead_letter.id,
                stage = %new.stage,
                workflow = %new.workflow,
                class = new.failure_class.as_str(),
                "dead letter recorded"
            );
        }
        Ok(Response::new(recorded.to_proto()))
    }

    pub(super) async fn get_dead_letter(
        &self,
        req: Request<pb::GetDeadLetterRequest>,
    ) -> Reply<pb::GetDeadLetterResponse> {
        Rpc::GetDeadLetter.authorize(&req)?;
        let id = req.into_inner().id;
        let dead_letter = self.store.get_dead_letter(id).await?;
        let audit = self.store.dead_letter_audit(id).await?;
        Ok(Response::new(pb::GetDeadLetterResponse {
            dead_letter: Some(dead_letter.to_proto()),
            audit: trail_to_proto(audit),
        }))
    }

    pub(super) async fn list_dead_letters(
        &self,
        req: Request<pb::ListDeadLettersRequest>,
    ) -> Reply<pb::ListDeadLettersResponse> {
        Rpc::ListDeadLetters.authorize(&req)?;
        let filter = DeadLetterFilter::from_proto(req.into_inner())?;
        let page = self.store.list_dead_letters(&filter).await?;
        Ok(Response::new(page.to_proto()))
    }

    pub(super) async fn begin_replay(
        &self,
        req: Request<pb::BeginReplayRequest>,
    ) -> Reply<pb::BeginReplayResponse> {
        let who = Rpc::BeginReplay.authorize(&req)?;
        let begin = BeginReplay::from_proto(req.into_inner());
        let ticket = self.store.begin_replay(&begin, &who).await?;
        tracing::info!(
            id = begin.id,
            generation = ticket.generation,
            resumed = ticket.resumed,
            actor = %who.name,
            "dead-letter replay begun"
        );
        Ok(Response::new(ticket.to_proto()))
    }

    pub(super) async fn complete_replay(
        &self,
        req: Request<pb::CompleteReplayRequest>,
    ) -> Reply<pb::CompleteReplayResponse> {
        let who = Rpc::CompleteReplay.authorize(&req)?;
        let req = req.into_inner();
        let outcome = required("outcome", replay_outcome_in(req.outcome))?;
        let change = self
            .store
            .complete_replay(req.id, &req.batch_id, outcome, &req.result, &who)
            .await?;
        Ok(Response::new(pb::CompleteReplayResponse {
            dead_letter: Some(change.dead_letter.to_proto()),
            applied: change.applied,
        }))
    }

    pub(super) async fn discard_dead_letter(
        &self,
        req: Request<pb::DiscardDeadLetterRequest>,
    ) -> Reply<pb::DiscardDeadLetterResponse> {
        let who = Rpc::DiscardDeadLetter.authorize(&req)?;
        let req = req.into_inner();
        let change = self
            .store
            .discard_dead_letter(req.id, &req.reason, &who)
            .await?;
        Ok(Response::new(pb::DiscardDeadLetterResponse {
            dead_letter: Some(change.dead_letter.to_proto()),
            applied: change.applied,
        }))
    }
}
