//! The key-state table as a pure function, so every row of it can be read
//! (and unit-tested) in one place. `keys::begin` feeds it the locked row.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::types::{BeginOutcome, KeyState};

/// The locked key row, as far as [`decide`] needs it.
#[derive(Debug, Clone)]
pub struct Existing {
    /// The recorded fingerprint.
    pub fingerprint: String,
    /// The key's state.
    pub state: KeyState,
    /// The current (or last) holder.
    pub owner: String,
    /// When the lease runs out.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// Whether the lease is still alive on the database clock.
    pub lease_alive: bool,
    /// Whether an effect may have been attempted under the current attempt.
    pub effect_attempted: bool,
    /// The stored result.
    pub result: Option<Value>,
    /// The recorded failure reason.
    pub failure_reason: Option<String>,
}

/// What the caller asks for, as far as [`decide`] needs it.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    /// The caller's fingerprint.
    pub fingerprint: &'a str,
    /// Whether the target deduplicates by key.
    pub target_honours_keys: bool,
    /// A reviewed supersession, if any.
    pub supersede_review: Option<&'a str>,
}

/// What `Begin` does with an existing key.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Answer without writing anything.
    Answer(BeginOutcome),
    /// Hand the key to the caller with a new fencing token.
    Restart {
        /// Whether an effect may already have been attempted under this key
        /// (a takeover on a key-honouring target): kept so a later takeover
        /// still knows.
        effect_attempted: bool,
        /// The review whose approval replaces the fingerprint or overrides a
        /// permanent failure, to be journalled.
        superseded_by: Option<String>,
    },
}

/// Applies the key-state table of the design to an existing key.
pub fn decide(row: &Existing, claim: Claim<'_>) -> Decision {
    let fingerprint_differs = row.fingerprint != claim.fingerprint;
    // A live holder is never disturbed, whatever the caller brings.
    if row.state == KeyState::InProgress && row.lease_alive && !fingerprint_differs {
        return in_progress(row);
    }
    if let Some(review) = claim.supersede_review {
        // A reviewed approval may replace the fingerprint only while no effect
        // has been attempted, or override a permanent failure.
        let allowed = match row.state {
            KeyState::FailedPermanent => true,
            KeyState::FailedRecoverable => !row.effect_attempted,
            KeyState::InProgress => !row.lease_alive && !row.effect_attempted,
            KeyState::Completed => false,
        };
        if allowed && (fingerprint_differs || row.state == KeyState::FailedPermanent) {
            return Decision::Restart {
                effect_attempted: false,
                superseded_by: Some(review.to_owned()),
            };
        }
    }
    if fingerprint_differs {
        return Decision::Answer(BeginOutcome::Conflict {
            recorded_fingerprint: row.fingerprint.clone(),
        });
    }
    match row.state {
        KeyState::Completed => Decision::Answer(BeginOutcome::Completed {
            result: row.result.clone(),
        }),
        KeyState::FailedPermanent => Decision::Answer(BeginOutcome::FailedPermanent {
            reason: row.failure_reason.clone().unwrap_or_default(),
        }),
        // The failure was classified by its holder; the next attempt resumes
        // from the recovery point it recorded.
        KeyState::FailedRecoverable => restart(false),
        KeyState::InProgress if row.lease_alive => in_progress(row),
        KeyState::InProgress if !row.effect_attempted => restart(false),
        KeyState::InProgress if claim.target_honours_keys => restart(true),
        KeyState::InProgress => Decision::Answer(BeginOutcome::Unknown {
            reason: "lease expired after the effect may have been attempted; \
                     the target does not honour idempotency keys"
                .to_owned(),
            last_owner: row.owner.clone(),
        }),
    }
}

fn restart(effect_attempted: bool) -> Decision {
    Decision::Restart {
        effect_attempted,
        superseded_by: None,
    }
}

fn in_progress(row: &Existing) -> Decision {
    Decision::Answer(BeginOutcome::InProgress {
        owner: row.owner.clone(),
        lease_expires_at: row.lease_expires_at.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: KeyState, lease_alive: bool, effect_attempted: bool) -> Existing {
        Existing {
            fingerprint: "fp".into(),
            state,
            owner: "exec-1".into(),
            lease_expires_at: None,
            lease_alive,
            effect_attempted,
            result: None,
            failure_reason: Some("denied".into()),
        }
    }

    fn claim(
        fingerprint: &'static str,
        honours: bool,
        review: Option<&'static str>,
    ) -> Claim<'static> {
        Claim {
            fingerprint,
            target_honours_keys: honours,
            supersede_review: review,
        }
    }

    fn is_restart(d: &Decision) -> bool {
        matches!(d, Decision::Restart { .. })
    }

    #[test]
    fn in_progress_rows() {
        use KeyState::InProgress as P;
        let live = decide(&row(P, true, false), claim("fp", false, None));
        assert!(matches!(
            live,
            Decision::Answer(BeginOutcome::InProgress { .. })
        ));
        assert!(is_restart(&decide(
            &row(P, false, false),
            claim("fp", false, None)
        )));
        let unknown = decide(&row(P, false, true), claim("fp", false, None));
        assert!(matches!(
            unknown,
            Decision::Answer(BeginOutcome::Unknown { .. })
        ));
        let honoured = decide(&row(P, false, true), claim("fp", true, None));
        assert_eq!(
            honoured,
            Decision::Restart {
                effect_attempted: true,
                superseded_by: None
            }
        );
    }

    #[test]
    fn finished_rows() {
        let done = decide(
            &row(KeyState::Completed, false, true),
            claim("fp", false, None),
        );
        assert_eq!(
            done,
            Decision::Answer(BeginOutcome::Completed { result: None })
        );
        let failed = decide(
            &row(KeyState::FailedRecoverable, false, true),
            claim("fp", false, None),
        );
        assert!(is_restart(&failed));
        let permanent = decide(
            &row(KeyState::FailedPermanent, false, true),
            claim("fp", false, None),
        );
        assert!(matches!(
            permanent,
            Decision::Answer(BeginOutcome::FailedPermanent { .. })
        ));
    }

    #[test]
    fn fingerprints_conflict_unless_a_review_may_supersede() {
        let r = Some("review-7");
        let conflict = |d: Decision| matches!(d, Decision::Answer(BeginOutcome::Conflict { .. }));
        assert!(conflict(decide(
            &row(KeyState::Completed, false, false),
            claim("x", false, None)
        )));
        assert!(conflict(decide(
            &row(KeyState::Completed, false, false),
            claim("x", false, r)
        )));
        assert!(conflict(decide(
            &row(KeyState::InProgress, false, true),
            claim("x", true, r)
        )));
        assert!(conflict(decide(
            &row(KeyState::InProgress, true, false),
            claim("x", false, r)
        )));
        assert!(is_restart(&decide(
            &row(KeyState::InProgress, false, false),
            claim("x", false, r)
        )));
        assert!(is_restart(&decide(
            &row(KeyState::FailedPermanent, false, true),
            claim("x", false, r)
        )));
        assert!(is_restart(&decide(
            &row(KeyState::FailedPermanent, false, true),
            claim("fp", false, r)
        )));
        assert!(conflict(decide(
            &row(KeyState::FailedRecoverable, false, true),
            claim("x", false, r)
        )));
    }
}
