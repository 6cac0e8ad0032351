//! Request validation: a request that can never succeed is refused before it
//! reaches the database, with a message that says what to fix.

use std::time::Duration;

use crate::error::{Error, Result};

/// The longest key, fingerprint, owner or review id accepted.
pub const MAX_TEXT: usize = 512;
/// The longest lease accepted; longer work renews with `Heartbeat`.
pub const MAX_LEASE: Duration = Duration::from_secs(3600);

/// Checks a required, printable, bounded text field.
pub fn text(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::InvalidArgument(format!("{field} must not be empty")));
    }
    if value.len() > MAX_TEXT {
        return Err(Error::InvalidArgument(format!(
            "{field} is longer than {MAX_TEXT} bytes"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::InvalidArgument(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(())
}

/// Checks an optional text field: empty means absent.
pub fn optional_text(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        Ok(())
    } else {
        text(field, value)
    }
}

/// Checks an operator's reason for an audited act: required, and not just
/// blanks, so every audit row says why.
pub fn reason(value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::InvalidArgument(
            "a reason is required for an audited operation".to_owned(),
        ));
    }
    text("reason", value)
}

/// The longest failure reason kept for a dead letter; longer ones are cut.
pub const MAX_FAILURE_REASON: usize = 4096;

/// A failure reason as a dead letter keeps it: never refused (a dead letter
/// must not be lost over its wording), only cut to [`MAX_FAILURE_REASON`]
/// bytes on a character boundary and stripped of NUL, which Postgres text
/// cannot hold.
pub fn failure_reason(value: &str) -> String {
    let mut cut = value.replace('\0', "");
    if cut.len() > MAX_FAILURE_REASON {
        let mut end = MAX_FAILURE_REASON;
        while !cut.is_char_boundary(end) {
            end -= 1;
        }
        cut.truncate(end);
    }
    if cut.trim().is_empty() {
        "(no reason given)".to_owned()
    } else {
        cut
    }
}

/// Checks a lease length and returns it in whole milliseconds.
pub fn lease_ms(lease: Duration) -> Result<i64> {
    if lease.is_zero() || lease > MAX_LEASE {
        return Err(Error::InvalidArgument(format!(
            "lease must be between 1ms and {MAX_LEASE:?}, got {lease:?}"
        )));
    }
    // Bounded by MAX_LEASE above, so the conversion cannot fail.
    i64::try_from(lease.as_millis().max(1))
        .map_err(|_| Error::InvalidArgument("lease too long".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_fields_are_bounded_and_printable() {
        assert!(text("key", "reservation:wa:1").is_ok());
        assert!(text("key", "").is_err());
        assert!(text("key", "a\nb").is_err());
        assert!(text("key", &"x".repeat(MAX_TEXT + 1)).is_err());
        assert!(optional_text("stage", "").is_ok());
    }

    #[test]
    fn reasons_are_required_and_failure_reasons_never_refused() {
        assert!(reason("customer called").is_ok());
        assert!(reason("   ").is_err());
        assert_eq!(failure_reason(""), "(no reason given)");
        assert_eq!(failure_reason("a\0b"), "ab");
        let long = "é".repeat(MAX_FAILURE_REASON);
        assert!(failure_reason(&long).len() <= MAX_FAILURE_REASON);
    }

    #[test]
    fn leases_are_bounded() {
        assert_eq!(lease_ms(Duration::from_millis(200)).ok(), Some(200));
        assert_eq!(lease_ms(Duration::from_micros(10)).ok(), Some(1));
        assert!(lease_ms(Duration::ZERO).is_err());
        assert!(lease_ms(Duration::from_secs(7200)).is_err());
    }
}
