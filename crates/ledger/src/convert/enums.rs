//! The protobuf enums of dead letters and review items ⇄ the domain enums.
//! `UNSPECIFIED` is `None` (as a filter: any); an unknown number is refused.

use super::pb;
use crate::error::{Error, Result};
use crate::types::{DeadLetterStatus, ReplayOutcome, ReviewDecision, ReviewKind, ReviewStatus};

macro_rules! enum_map {
    ($name:literal, $domain:ident, $proto:ident, $to:ident, $from:ident,
     { $($d:ident <=> $p:ident,)+ }) => {
        /// The proto number of a domain value (0, unspecified, for `None`).
        pub(crate) fn $to(value: Option<$domain>) -> i32 {
            match value {
                None => pb::$proto::Unspecified as i32,
                $(Some($domain::$d) => pb::$proto::$p as i32,)+
            }
        }

        /// The domain value of a proto number; `None` for unspecified.
        pub(crate) fn $from(value: i32) -> Result<Option<$domain>> {
            match pb::$proto::try_from(value) {
                Ok(pb::$proto::Unspecified) => Ok(None),
                $(Ok(pb::$proto::$p) => Ok(Some($domain::$d)),)+
                Err(_) => Err(Error::InvalidArgument(format!(
                    "{} {value} is not known", $name
                ))),
            }
        }
    };
}

enum_map!("dead-letter status", DeadLetterStatus, DeadLetterStatus,
    dead_letter_status_out, dead_letter_status_in, {
    Open <=> Open,
    Replayed <=> Replayed,
    Discarded <=> Discarded,
});

enum_map!("replay outcome", ReplayOutcome, ReplayOutcome,
    replay_outcome_out, replay_outcome_in, {
    Published <=> Published,
    Failed <=> Failed,
});

enum_map!("review kind", ReviewKind, ReviewKind, review_kind_out, review_kind_in, {
    Review <=> Review,
    NeedsReview <=> NeedsReview,
});

enum_map!("review status", ReviewStatus, ReviewStatus, review_status_out, review_status_in, {
    Open <=> Open,
    Approved <=> Approved,
    Rejected <=> Rejected,
    Escalated <=> Escalated,
});

enum_map!("review decision", ReviewDecision, ReviewDecision,
    review_decision_out, review_decision_in, {
    Approve <=> Approve,
    Reject <=> Reject,
    Escalate <=> Escalate,
});

/// A required enum: unspecified is refused with `field` named.
pub(crate) fn required<T>(field: &str, value: Result<Option<T>>) -> Result<T> {
    value?.ok_or_else(|| Error::InvalidArgument(format!("{field} must be set")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_and_unknown_numbers_are_refused() {
        for status in [ReviewStatus::Open, ReviewStatus::Rejected] {
            let n = review_status_out(Some(status));
            assert_eq!(review_status_in(n).ok(), Some(Some(status)));
        }
        assert_eq!(dead_letter_status_in(0).ok(), Some(None));
        assert!(review_decision_in(42).is_err());
        assert!(required("decision", review_decision_in(0)).is_err());
    }
}
