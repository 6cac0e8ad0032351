//! Execution and journal messages.

use sluice_core::{ExecutionId, State};

use super::{datetime, json_in, json_out, non_empty, optional_datetime, pb, timestamp, uuid};
use crate::error::{Error, Result};
use crate::types::{
    Execution, ExecutionFilter, ExecutionPage, JournalEntry, Origin, Repeat, Transition,
    TransitionOutcome,
};

fn state(field: &str, name: &str) -> Result<State> {
    name.parse()
        .map_err(|_| Error::InvalidArgument(format!("{field} {name:?} is not an execution state")))
}

impl Transition {
    /// Reads a protobuf request (server side).
    pub fn from_proto(req: pb::RecordTransitionRequest) -> Result<Self> {
        let from = match req.from_state.as_str() {
            "" => None,
            name => Some(state("from_state", name)?),
        };
        Ok(Self {
            execution_id: ExecutionId::from_uuid(uuid("execution_id", &req.execution_id)?),
            from,
            to: state("to_state", &req.to_state)?,
            detail: json_in("detail", req.detail)?,
            stage: req.stage,
            generation: req.generation,
            exception_reason: req.exception_reason,
            final_outcome: req.final_outcome,
            origin: Origin {
                workflow: req.workflow,
                source: req.source,
                event_id: req.event_id,
                correlation_id: req.correlation_id,
            },
        })
    }

    /// Writes the protobuf request (client side).
    pub fn to_proto(&self) -> pb::RecordTransitionRequest {
        pb::RecordTransitionRequest {
            execution_id: self.execution_id.as_uuid().to_string(),
            from_state: self.from.map(State::as_str).unwrap_or_default().to_owned(),
            to_state: self.to.as_str().to_owned(),
            stage: self.stage.clone(),
            generation: self.generation.clone(),
            detail: json_out(self.detail.clone()),
            workflow: self.origin.workflow.clone(),
            source: self.origin.source.clone(),
            event_id: self.origin.event_id.clone(),
            correlation_id: self.origin.correlation_id.clone(),
            exception_reason: self.exception_reason.clone(),
            final_outcome: self.final_outcome.clone(),
            then: Vec::new(),
            refuse_repeat: false,
        }
    }

    /// Reads a request and the steps chained after it, and how the path
    /// answers a repeat (server side).
    pub fn path_from_proto(mut req: pb::RecordTransitionRequest) -> Result<(Vec<Self>, Repeat)> {
        let then = std::mem::take(&mut req.then);
        let repeat = if std::mem::take(&mut req.refuse_repeat) {
            Repeat::Refuse
        } else {
            Repeat::Answer
        };
        let path = Self::steps_from_proto(std::iter::once(req).chain(then))?;
        Ok((path, repeat))
    }

    /// Reads the steps of a path, each a plain request, all of one
    /// execution (server side).
    pub fn steps_from_proto(
        steps: impl IntoIterator<Item = pb::RecordTransitionRequest>,
    ) -> Result<Vec<Self>> {
        let mut path: Vec<Self> = Vec::new();
        for step in steps {
            if !step.then.is_empty() || step.refuse_repeat {
                return Err(Error::InvalidArgument(
                    "a chained transition carries no `then` or `refuse_repeat` of its own".into(),
                ));
            }
            let step = Self::from_proto(step)?;
            if path
                .first()
                .is_some_and(|first| first.execution_id != step.execution_id)
            {
                return Err(Error::InvalidArgument(
                    "every step of a path moves the same execution".into(),
                ));
            }
            path.push(step);
        }
        Ok(path)
    }

    /// Writes `path` as one request: the first step with the rest chained
    /// (client side). `None` for an empty path.
    pub fn path_to_proto(path: &[Self], repeat: Repeat) -> Option<pb::RecordTransitionRequest> {
        let (first, rest) = path.split_first()?;
        let mut req = first.to_proto();
        req.then = rest.iter().map(Self::to_proto).collect();
        req.refuse_repeat = repeat == Repeat::Refuse;
        Some(req)
    }
}

impl TransitionOutcome {
    /// Writes the protobuf answer (server side).
    pub fn to_proto(self) -> pb::RecordTransitionResponse {
        pb::RecordTransitionResponse {
            applied: self.applied,
            state: self.state.as_str().to_owned(),
            seq: self.seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
            steps: Vec::new(),
        }
    }

    /// Writes the answer to a path: the last step's, with every step's
    /// when there are several (server side).
    pub fn path_to_proto(outcomes: Vec<Self>) -> Option<pb::RecordTransitionResponse> {
        let mut resp = outcomes.last().copied()?.to_proto();
        if outcomes.len() > 1 {
            resp.steps = outcomes.into_iter().map(Self::to_proto).collect();
        }
        Some(resp)
    }

    /// Reads the answer to a path: one outcome per step (client side).
    pub fn path_from_proto(mut resp: pb::RecordTransitionResponse) -> Result<Vec<Self>> {
        let steps = std::mem::take(&mut resp.steps);
        if steps.is_empty() {
            return Ok(vec![Self::from_proto(resp)?]);
        }
        steps.into_iter().map(Self::from_proto).collect()
    }

    /// Reads the protobuf answer (client side).
    pub fn from_proto(resp: pb::RecordTransitionResponse) -> Result<Self> {
        Ok(Self {
            applied: resp.applied,
            state: state("state", &resp.state).map_err(|e| Error::Malformed(e.to_string()))?,
            seq: (resp.applied).then(|| i64::try_from(resp.seq).unwrap_or(i64::MAX)),
        })
    }
}

impl Execution {
    /// Writes the protobuf message (server side).
    pub fn to_proto(self) -> pb::Execution {
        pb::Execution {
            execution_id: self.execution_id.to_string(),
            workflow: self.workflow,
            source: self.source,
            event_id: self.event_id,
            correlation_id: self.correlation_id,
            state: self.state,
            received_at: Some(timestamp(self.received_at)),
            updated_at: Some(timestamp(self.updated_at)),
            retry_count: u32::try_from(self.retry_count).unwrap_or(0),
            exception_reason: self.exception_reason,
            final_outcome: self.final_outcome,
            payload_ref: self.payload_ref,
            model_output_ref: self.model_output_ref,
            confidence: self.confidence,
            gate_decision: self.gate_decision,
            actions_attempted: json_out(self.actions_attempted),
            external_write_ids: json_out(self.external_write_ids),
            erased_at: self.erased_at.map(timestamp),
        }
    }

    /// Reads the protobuf message (client side).
    pub fn from_proto(e: pb::Execution) -> Result<Self> {
        Ok(Self {
            execution_id: uuid("execution_id", &e.execution_id)?,
            received_at: datetime("received_at", e.received_at)?,
            updated_at: datetime("updated_at", e.updated_at)?,
            retry_count: i32::try_from(e.retry_count).unwrap_or(i32::MAX),
            actions_attempted: json_in("actions_attempted", e.actions_attempted)?,
            external_write_ids: json_in("external_write_ids", e.external_write_ids)?,
            erased_at: optional_datetime("erased_at", e.erased_at)?,
            workflow: e.workflow,
            source: e.source,
            event_id: e.event_id,
            correlation_id: e.correlation_id,
            state: e.state,
            exception_reason: e.exception_reason,
            final_outcome: e.final_outcome,
            payload_ref: e.payload_ref,
            model_output_ref: e.model_output_ref,
            confidence: e.confidence,
            gate_decision: e.gate_decision,
        })
    }
}

impl JournalEntry {
    /// Writes the protobuf message (server side).
    pub fn to_proto(self) -> pb::JournalEntry {
        pb::JournalEntry {
            seq: u64::try_from(self.seq).unwrap_or(0),
            from_state: self.from_state.unwrap_or_default(),
            to_state: self.to_state,
            at: Some(timestamp(self.at)),
            stage: self.stage,
            generation: self.generation,
            detail: json_out(self.detail),
            actor: self.actor,
        }
    }

    /// Reads the protobuf message (client side).
    pub fn from_proto(j: pb::JournalEntry) -> Result<Self> {
        Ok(Self {
            seq: i64::try_from(j.seq).unwrap_or(i64::MAX),
            from_state: non_empty(j.from_state),
            to_state: j.to_state,
            at: datetime("at", j.at)?,
            stage: j.stage,
            generation: j.generation,
            detail: json_in("detail", j.detail)?,
            actor: j.actor,
        })
    }
}

impl ExecutionFilter {
    /// Reads a protobuf request (server side).
    pub fn from_proto(req: pb::ListExecutionsRequest) -> Result<Self> {
        Ok(Self {
            state: req
                .state
                .as_deref()
                .map(|s| state("state", s))
                .transpose()?,
            since: optional_datetime("since", req.since)?,
            until: optional_datetime("until", req.until)?,
            workflow: req.workflow,
            limit: req.limit,
            page_token: req.page_token,
        })
    }

    /// Writes the protobuf request (client side).
    pub fn to_proto(&self) -> pb::ListExecutionsRequest {
        pb::ListExecutionsRequest {
            workflow: self.workflow.clone(),
            state: self.state.map(|s| s.as_str().to_owned()),
            since: self.since.map(timestamp),
            until: self.until.map(timestamp),
            limit: self.limit,
            page_token: self.page_token.clone(),
        }
    }
}

impl ExecutionPage {
    /// Writes the protobuf answer (server side).
    pub fn to_proto(self) -> pb::ListExecutionsResponse {
        pb::ListExecutionsResponse {
            executions: self
                .executions
                .into_iter()
                .map(Execution::to_proto)
                .collect(),
            next_page_token: self.next_page_token,
        }
    }

    /// Reads the protobuf answer (client side).
    pub fn from_proto(resp: pb::ListExecutionsResponse) -> Result<Self> {
        Ok(Self {
            executions: resp
                .executions
                .into_iter()
                .map(Execution::from_proto)
                .collect::<Result<_>>()?,
            next_page_token: resp.next_page_token,
        })
    }
}
