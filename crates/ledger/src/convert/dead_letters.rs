//! Dead-letter messages.

use sluice_core::{ExecutionId, FailureClass};

use super::enums::{dead_letter_status_in, dead_letter_status_out, replay_outcome_in};
use super::enums::{replay_outcome_out, required};
use super::{datetime, json_in, json_out, non_empty, optional_datetime, pb, timestamp, uuid};
use crate::error::{Error, Result};
use crate::types::{
    BeginReplay, DeadLetter, DeadLetterFilter, DeadLetterPage, Headers, NewDeadLetter,
    RecordedDeadLetter, ReplayTicket,
};

fn headers_in(bytes: &[u8]) -> Result<Headers> {
    if bytes.is_empty() {
        return Ok(Headers::new());
    }
    serde_json::from_slice(bytes).map_err(|e| {
        Error::InvalidArgument(format!(
            "headers must be a JSON object of string lists: {e}"
        ))
    })
}

fn headers_out(headers: &Headers) -> Vec<u8> {
    serde_json::to_vec(headers).unwrap_or_default()
}

fn failure_class(name: &str) -> Result<FailureClass> {
    name.parse()
        .map_err(|_| Error::InvalidArgument(format!("failure_class {name:?} is not known")))
}

fn missing(what: &str) -> Error {
    Error::Malformed(format!("{what} missing"))
}

impl NewDeadLetter {
    /// Reads a protobuf request (server side).
    pub fn from_proto(r: pb::RecordDeadLetterRequest) -> Result<Self> {
        let execution_id = match r.execution_id.as_str() {
            "" => None,
            id => Some(ExecutionId::from_uuid(uuid("execution_id", id)?)),
        };
        Ok(Self {
            execution_id,
            failure_class: failure_class(&r.failure_class)?,
            error_detail: json_in("error_detail", r.error_detail)?,
            first_failed_at: optional_datetime("first_failed_at", r.first_failed_at)?,
            last_failed_at: optional_datetime("last_failed_at", r.last_failed_at)?,
            headers: headers_in(&r.headers)?,
            stream: r.stream,
            stream_sequence: r.stream_sequence,
            stage: r.stage,
            workflow: r.workflow,
            correlation_id: r.correlation_id,
            reason: r.reason,
            attempts: r.attempts,
            subject: r.subject,
            payload: r.payload,
            dlq_stream: r.dlq_stream,
            dlq_sequence: r.dlq_sequence,
        })
    }

    /// Writes the protobuf request (client side).
    pub fn to_proto(&self) -> pb::RecordDeadLetterRequest {
        pb::RecordDeadLetterRequest {
            stream: self.stream.clone(),
            stream_sequence: self.stream_sequence,
            stage: self.stage.clone(),
            workflow: self.workflow.clone(),
            execution_id: self
                .execution_id
                .map(|id| id.as_uuid().to_string())
                .unwrap_or_default(),
            correlation_id: self.correlation_id.clone(),
            failure_class: self.failure_class.as_str().to_owned(),
            reason: self.reason.clone(),
            error_detail: json_out(self.error_detail.clone()),
            attempts: self.attempts,
            first_failed_at: self.first_failed_at.map(timestamp),
            last_failed_at: self.last_failed_at.map(timestamp),
            subject: self.subject.clone(),
            headers: headers_out(&self.headers),
            payload: self.payload.clone(),
            dlq_stream: self.dlq_stream.clone(),
            dlq_sequence: self.dlq_sequence,
        }
    }
}

impl DeadLetter {
    /// Writes the protobuf message (server side).
    pub fn to_proto(self) -> pb::DeadLetter {
        pb::DeadLetter {
            id: self.id,
            headers: headers_out(&self.headers),
            stream: self.stream,
            stream_sequence: self.stream_sequence,
            stage: self.stage,
            workflow: self.workflow,
            execution_id: self
                .execution_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            correlation_id: self.correlation_id,
            failure_class: self.failure_class.as_str().to_owned(),
            reason: self.reason,
            error_detail: json_out(self.error_detail),
            attempts: self.attempts,
            first_failed_at: Some(timestamp(self.first_failed_at)),
            last_failed_at: Some(timestamp(self.last_failed_at)),
            subject: self.subject,
            payload: self.payload,
            dlq_stream: self.dlq_stream,
            dlq_sequence: self.dlq_sequence,
            status: dead_letter_status_out(Some(self.status)),
            replay_count: self.replay_count,
            created_at: Some(timestamp(self.created_at)),
            updated_at: Some(timestamp(self.updated_at)),
        }
    }

    /// Reads the protobuf message (client side).
    pub fn from_proto(d: pb::DeadLetter) -> Result<Self> {
        let malformed = |e: Error| Error::Malformed(e.to_string());
        Ok(Self {
            id: d.id,
            execution_id: non_empty(d.execution_id)
                .map(|id| uuid("execution_id", &id))
                .transpose()?,
            failure_class: failure_class(&d.failure_class).map_err(malformed)?,
            error_detail: json_in("error_detail", d.error_detail)?,
            first_failed_at: datetime("first_failed_at", d.first_failed_at)?,
            last_failed_at: datetime("last_failed_at", d.last_failed_at)?,
            headers: headers_in(&d.headers).map_err(malformed)?,
            status: required("status", dead_letter_status_in(d.status)).map_err(malformed)?,
            created_at: datetime("created_at", d.created_at)?,
            updated_at: datetime("updated_at", d.updated_at)?,
            stream: d.stream,
            stream_sequence: d.stream_sequence,
            stage: d.stage,
            workflow: d.workflow,
            correlation_id: d.correlation_id,
            reason: d.reason,
            attempts: d.attempts,
            subject: d.subject,
            payload: d.payload,
            dlq_stream: d.dlq_stream,
            dlq_sequence: d.dlq_sequence,
            replay_count: d.replay_count,
        })
    }

    /// Reads an optional protobuf field that must be present (client side).
    pub(crate) fn from_field(d: Option<pb::DeadLetter>) -> Result<Self> {
        Self::from_proto(d.ok_or_else(|| missing("dead_letter"))?)
    }
}

impl RecordedDeadLetter {
    /// Writes the protobuf answer (server side).
    pub fn to_proto(self) -> pb::RecordDeadLetterResponse {
        pb::RecordDeadLetterResponse {
            dead_letter: Some(self.dead_letter.to_proto()),
            created: self.created,
        }
    }

    /// Reads the protobuf answer (client side).
    pub fn from_proto(r: pb::RecordDeadLetterResponse) -> Result<Self> {
        Ok(Self {
            dead_letter: DeadLetter::from_field(r.dead_letter)?,
            created: r.created,
        })
    }
}

impl DeadLetterFilter {
    /// Reads a protobuf request (server side).
    pub fn from_proto(r: pb::ListDeadLettersRequest) -> Result<Self> {
        Ok(Self {
            failure_class: r.failure_class.as_deref().map(failure_class).transpose()?,
            status: dead_letter_status_in(r.status)?,
            since: optional_datetime("since", r.since)?,
            until: optional_datetime("until", r.until)?,
            stage: r.stage,
            workflow: r.workflow,
            reason_contains: r.reason_contains,
            correlation_id: r.correlation_id,
            limit: r.limit,
            page_token: r.page_token,
        })
    }

    /// Writes the protobuf request (client side).
    pub fn to_proto(&self) -> pb::ListDeadLettersRequest {
        pb::ListDeadLettersRequest {
            stage: self.stage.clone(),
            workflow: self.workflow.clone(),
            failure_class: self.failure_class.map(|c| c.as_str().to_owned()),
            reason_contains: self.reason_contains.clone(),
            status: dead_letter_status_out(self.status),
            correlation_id: self.correlation_id.clone(),
            since: self.since.map(timestamp),
            until: self.until.map(timestamp),
            limit: self.limit,
            page_token: self.page_token.clone(),
        }
    }
}

impl DeadLetterPage {
    /// Writes the protobuf answer (server side).
    pub fn to_proto(self) -> pb::ListDeadLettersResponse {
        pb::ListDeadLettersResponse {
            dead_letters: self
                .dead_letters
                .into_iter()
                .map(DeadLetter::to_proto)
                .collect(),
            next_page_token: self.next_page_token,
        }
    }

    /// Reads the protobuf answer (client side).
    pub fn from_proto(r: pb::ListDeadLettersResponse) -> Result<Self> {
        Ok(Self {
            dead_letters: r
                .dead_letters
                .into_iter()
                .map(DeadLetter::from_proto)
                .collect::<Result<_>>()?,
            next_page_token: r.next_page_token,
        })
    }
}

impl BeginReplay {
    /// Reads a protobuf request (server side).
    pub fn from_proto(r: pb::BeginReplayRequest) -> Self {
        Self {
            id: r.id,
            reason: r.reason,
            batch_id: r.batch_id,
            max_replays: r.max_replays,
        }
    }

    /// Writes the protobuf request (client side).
    pub fn to_proto(&self) -> pb::BeginReplayRequest {
        pb::BeginReplayRequest {
            id: self.id,
            reason: self.reason.clone(),
            batch_id: self.batch_id.clone(),
            max_replays: self.max_replays,
        }
    }
}

impl ReplayTicket {
    /// Writes the protobuf answer (server side).
    pub fn to_proto(self) -> pb::BeginReplayResponse {
        pb::BeginReplayResponse {
            generation: self.generation,
            generation_label: self.generation_label(),
            resumed: self.resumed,
            outcome: replay_outcome_out(self.outcome),
            dead_letter: Some(self.dead_letter.to_proto()),
            begun_at: Some(timestamp(self.begun_at)),
        }
    }

    /// Reads the protobuf answer (client side).
    pub fn from_proto(r: pb::BeginReplayResponse) -> Result<Self> {
        Ok(Self {
            generation: r.generation,
            resumed: r.resumed,
            outcome: replay_outcome_in(r.outcome).map_err(|e| Error::Malformed(e.to_string()))?,
            dead_letter: DeadLetter::from_field(r.dead_letter)?,
            begun_at: datetime("begun_at", r.begun_at)?,
        })
    }
}
