//! Failure classification.
//!
//! Retries are classified, not blind: a temporary failure is retried with
//! backoff, a permanent one never is, and an unknown one stops and asks a
//! person, because guessing is how effects get applied twice.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// How a failure is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// Timeout, 429, 5xx, connection reset: retry with backoff up to the
    /// policy's limit, then dead-letter.
    Temporary,
    /// 4xx, schema failure, denied permission: no retry; review or dead-letter.
    Permanent,
    /// Unexpected response or inconsistency: stop, record, review.
    Unknown,
}

impl FailureClass {
    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            FailureClass::Temporary => "temporary",
            FailureClass::Permanent => "permanent",
            FailureClass::Unknown => "unknown",
        }
    }

    /// Classifies an HTTP status returned by a target system.
    ///
    /// `408` and `429` are temporary although they are 4xx: the request was
    /// not processed and may be sent again. A 1xx or 3xx where a final answer
    /// was expected is not something to retry blindly.
    pub const fn from_http_status(status: u16) -> Self {
        match status {
            408 | 425 | 429 | 500..=599 => FailureClass::Temporary,
            400..=499 => FailureClass::Permanent,
            _ => FailureClass::Unknown,
        }
    }

    /// Whether this class may be retried automatically.
    pub const fn is_retryable(self) -> bool {
        matches!(self, FailureClass::Temporary)
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FailureClass {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "temporary" => Ok(FailureClass::Temporary),
            "permanent" => Ok(FailureClass::Permanent),
            "unknown" => Ok(FailureClass::Unknown),
            other => Err(Error::UnknownFailureClass(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FailureClass::{self, *};

    #[test]
    fn http_statuses() {
        let cases = [
            (408, Temporary),
            (429, Temporary),
            (500, Temporary),
            (503, Temporary),
            (400, Permanent),
            (401, Permanent),
            (404, Permanent),
            (409, Permanent),
            (422, Permanent),
            (200, Unknown),
            (302, Unknown),
        ];
        for (status, class) in cases {
            assert_eq!(FailureClass::from_http_status(status), class, "{status}");
        }
    }

    #[test]
    fn only_temporary_is_retryable() {
        assert!(Temporary.is_retryable());
        assert!(!Permanent.is_retryable());
        assert!(!Unknown.is_retryable());
    }
}
