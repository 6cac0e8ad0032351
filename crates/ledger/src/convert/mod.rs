//! Conversions between the domain types and the generated protobuf types,
//! in both directions: the server reads requests and writes answers, the
//! client writes requests and reads answers. Protobuf never leaks further.

mod audit;
mod compensation;
mod dead_letters;
mod enums;
mod escalations;
mod executions;
mod keys;
mod retention;
mod reviews;

pub(crate) use audit::{trail_from_proto, trail_to_proto};
pub(crate) use enums::{replay_outcome_in, replay_outcome_out, required};

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use serde_json::Value;
use uuid::Uuid;

use crate::error::{Error, Result};

/// The generated `sluice.ledger.v1` types.
pub use sluice_proto::ledger::v1 as pb;

/// A JSON document carried in a `bytes` field; empty means absent.
pub(crate) fn json_in(field: &str, bytes: Option<Vec<u8>>) -> Result<Option<Value>> {
    match bytes {
        None => Ok(None),
        Some(bytes) if bytes.is_empty() => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|err| Error::InvalidArgument(format!("{field} is not valid JSON: {err}"))),
    }
}

pub(crate) fn json_out(value: Option<Value>) -> Option<Vec<u8>> {
    value.map(|value| value.to_string().into_bytes())
}

pub(crate) fn timestamp(at: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

pub(crate) fn datetime(field: &str, ts: Option<Timestamp>) -> Result<DateTime<Utc>> {
    let ts = ts.ok_or_else(|| Error::Malformed(format!("{field} missing")))?;
    optional_datetime(field, Some(ts))?.ok_or_else(|| Error::Malformed(format!("{field} missing")))
}

fn optional_datetime(field: &str, ts: Option<Timestamp>) -> Result<Option<DateTime<Utc>>> {
    ts.map(|ts| {
        u32::try_from(ts.nanos)
            .ok()
            .and_then(|nanos| DateTime::from_timestamp(ts.seconds, nanos))
            .ok_or_else(|| Error::InvalidArgument(format!("{field} is not a valid timestamp")))
    })
    .transpose()
}

fn uuid(field: &str, value: &str) -> Result<Uuid> {
    Uuid::parse_str(value)
        .map_err(|_| Error::InvalidArgument(format!("{field} {value:?} is not a UUID")))
}

fn non_empty(value: String) -> Option<String> {
    if value.is_empty() { None } else { Some(value) }
}
