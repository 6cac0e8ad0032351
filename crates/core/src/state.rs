//! The execution state machine.
//!
//! Every execution is one row in the ledger whose `state` only moves along the
//! edges of [`TRANSITIONS`] and [`ANY_ACTIVE_TO`]. The ledger enforces the same
//! table in SQL (a guarded `UPDATE … WHERE state = from`), so a journal can
//! always be checked against this file.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

macro_rules! states {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)+) => {
        /// Where an execution is. Serialised as `SCREAMING_SNAKE_CASE`, the same
        /// spelling the ledger stores.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum State {
            $($(#[$doc])* $variant,)+
        }

        impl State {
            /// Every state, in declaration order.
            pub const ALL: &'static [State] = &[$(State::$variant,)+];

            /// The stored and wire spelling of this state.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(State::$variant => $name,)+
                }
            }
        }

        impl FromStr for State {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self, Error> {
                match s {
                    $($name => Ok(State::$variant),)+
                    other => Err(Error::UnknownState(other.to_owned())),
                }
            }
        }
    };
}

states! {
    /// Accepted by ingest and recorded.
    Received = "RECEIVED",
    /// Authenticated and matching the source's schema.
    Validated = "VALIDATED",
    /// The interpreter has asked the model.
    ModelRequested = "MODEL_REQUESTED",
    /// The model (or the deterministic fallback) answered.
    ModelCompleted = "MODEL_COMPLETED",
    /// The answer validated against the workflow's contract schema.
    OutputValidated = "OUTPUT_VALIDATED",
    /// The gate has decided.
    GateDecided = "GATE_DECIDED",
    /// The gate allowed the action without a person.
    AutoActionPending = "AUTO_ACTION_PENDING",
    /// The executor holds the idempotency key and may be performing the effect.
    Executing = "EXECUTING",
    /// The effect happened and its result is stored.
    ActionCompleted = "ACTION_COMPLETED",
    /// The target was read back and holds what was asked.
    Verified = "VERIFIED",
    /// The target holds something other than what was asked.
    VerificationFailed = "VERIFICATION_FAILED",
    /// The confirmation was sent.
    Notified = "NOTIFIED",
    /// Done. Terminal (compensation may still follow).
    Completed = "COMPLETED",
    /// Rejected by a rule or a reviewer. Terminal.
    Closed = "CLOSED",
    /// The user was asked for missing information. Terminal for this execution.
    ClarificationRequested = "CLARIFICATION_REQUESTED",
    /// Waiting for a reviewer.
    HumanReviewPending = "HUMAN_REVIEW_PENDING",
    /// A reviewer approved (possibly with corrections).
    HumanApproved = "HUMAN_APPROVED",
    /// A reviewer rejected.
    HumanRejected = "HUMAN_REJECTED",
    /// A reviewer escalated.
    HumanEscalated = "HUMAN_ESCALATED",
    /// Handed to a higher level outside Sluice. Terminal.
    Escalated = "ESCALATED",
    /// The effect may or may not have happened; nobody may guess.
    EffectUnknown = "EFFECT_UNKNOWN",
    /// Stopped for a person to decide.
    NeedsReview = "NEEDS_REVIEW",
    /// The effect is kept but the confirmation could not be sent. Terminal.
    NotifyFailed = "NOTIFY_FAILED",
    /// A compensating action is running.
    Compensating = "COMPENSATING",
    /// The effect was undone. Terminal.
    Compensated = "COMPENSATED",
    /// A temporary failure; the stage will be retried.
    FailedRetryable = "FAILED_RETRYABLE",
    /// A retry has started.
    Retried = "RETRIED",
    /// Parked in the dead-letter stream.
    DeadLettered = "DEAD_LETTERED",
    /// Replayed from the dead-letter stream.
    Replayed = "REPLAYED",
    /// Discarded from the dead-letter stream. Terminal.
    Discarded = "DISCARDED",
}

use State::*;

/// The explicit edges of the state machine, `(from, to)`.
pub const TRANSITIONS: &[(State, State)] = &[
    // Interpretation.
    (Received, Validated),
    (Validated, ModelRequested),
    (ModelRequested, ModelCompleted),
    (ModelCompleted, OutputValidated),
    (OutputValidated, GateDecided),
    // Automatic action.
    (GateDecided, AutoActionPending),
    (AutoActionPending, Executing),
    (Executing, ActionCompleted),
    (ActionCompleted, Notified),
    (Notified, Completed),
    // Outcome verification, for actions that declare one.
    (ActionCompleted, Verified),
    (ActionCompleted, VerificationFailed),
    (Verified, Notified),
    (Verified, NotifyFailed),
    (VerificationFailed, NeedsReview),
    // Other gate decisions.
    (GateDecided, Closed),
    (GateDecided, ClarificationRequested),
    (GateDecided, HumanReviewPending),
    // Human review.
    (HumanReviewPending, HumanApproved),
    (HumanReviewPending, HumanRejected),
    (HumanReviewPending, HumanEscalated),
    (NeedsReview, HumanApproved),
    (NeedsReview, HumanRejected),
    (NeedsReview, HumanEscalated),
    (HumanApproved, Executing),
    (HumanRejected, Closed),
    (HumanEscalated, Escalated),
    // Ambiguous effects and failed notifications.
    (Executing, EffectUnknown),
    (EffectUnknown, NeedsReview),
    (ActionCompleted, NotifyFailed),
    // Compensation: a saga undoing its completed actions after a later one
    // failed for good, or a person's revert of a completed execution.
    (Executing, Compensating),
    (ActionCompleted, Compensating),
    (Verified, Compensating),
    (Completed, Compensating),
    (Compensating, Compensated),
    // Retries and dead letters.
    (FailedRetryable, Retried),
    (FailedRetryable, DeadLettered),
    (FailedRetryable, NeedsReview),
    (DeadLettered, Replayed),
    (DeadLettered, Discarded),
];

/// The states a stage (re)starts from: where `RETRIED` and `REPLAYED` may lead
/// back to ("the stage it failed in" / "the stage it came from").
pub const STAGE_ENTRIES: &[State] = &[
    Received,
    Validated,
    ModelRequested,
    OutputValidated,
    GateDecided,
    AutoActionPending,
    HumanApproved,
    Executing,
    ActionCompleted,
    Verified,
];

/// The "any active state → X" edges: a stage may fail temporarily, be
/// dead-lettered, or stop for review from any state where work is in flight.
pub const ANY_ACTIVE_TO: &[State] = &[FailedRetryable, DeadLettered, NeedsReview];

impl State {
    /// Terminal states have no outgoing edge except compensation of a
    /// completed effect.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            Completed
                | Closed
                | ClarificationRequested
                | Escalated
                | NotifyFailed
                | Compensated
                | Discarded
        )
    }

    /// States in which a stage is working on the execution, so it may fail,
    /// be dead-lettered or stop for review.
    pub const fn is_active(self) -> bool {
        matches!(
            self,
            Received
                | Validated
                | ModelRequested
                | ModelCompleted
                | OutputValidated
                | GateDecided
                | AutoActionPending
                | HumanApproved
                | Executing
                | ActionCompleted
                | Verified
                | VerificationFailed
                | Notified
                | Compensating
                | Retried
                | Replayed
        )
    }

    /// Whether `self → to` is an edge of the state machine.
    ///
    /// `self → self` is *not* an edge: the ledger treats a repeated transition
    /// as an idempotent no-op before it ever consults this table.
    pub fn can_transition_to(self, to: State) -> bool {
        if TRANSITIONS.contains(&(self, to)) {
            return true;
        }
        if matches!(self, Retried | Replayed) && STAGE_ENTRIES.contains(&to) {
            return true;
        }
        self.is_active() && ANY_ACTIVE_TO.contains(&to) && self != to
    }

    /// Every legal `(from, to)` pair, expanded from the tables above.
    pub fn legal_transitions() -> impl Iterator<Item = (State, State)> {
        State::ALL.iter().flat_map(|&from| {
            State::ALL
                .iter()
                .filter(move |&&to| from.can_transition_to(to))
                .map(move |&to| (from, to))
        })
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_explicit_edge_is_legal() {
        for &(from, to) in TRANSITIONS {
            assert!(from.can_transition_to(to), "{from} -> {to}");
        }
    }

    #[test]
    fn happy_path_is_a_chain_of_legal_edges() {
        let path = [
            Received,
            Validated,
            ModelRequested,
            ModelCompleted,
            OutputValidated,
            GateDecided,
            AutoActionPending,
            Executing,
            ActionCompleted,
            Notified,
            Completed,
        ];
        for pair in path.windows(2) {
            assert!(
                pair[0].can_transition_to(pair[1]),
                "{} -> {}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn a_verified_action_goes_on_and_a_failed_verification_stops_for_review() {
        for pair in [ActionCompleted, Verified, Notified, Completed].windows(2) {
            assert!(
                pair[0].can_transition_to(pair[1]),
                "{} -> {}",
                pair[0],
                pair[1]
            );
        }
        assert!(ActionCompleted.can_transition_to(VerificationFailed));
        assert!(VerificationFailed.can_transition_to(NeedsReview));
        assert!(
            !VerificationFailed.can_transition_to(Notified),
            "never confirmed to the user"
        );
        assert!(Verified.can_transition_to(Compensating));
    }

    #[test]
    fn retries_and_replays_return_to_stage_entries_only() {
        for &entry in STAGE_ENTRIES {
            assert!(Retried.can_transition_to(entry));
            assert!(Replayed.can_transition_to(entry));
        }
        assert!(!Retried.can_transition_to(Completed));
        assert!(!Replayed.can_transition_to(Notified));
    }

    #[test]
    fn sample_of_illegal_edges_is_refused() {
        let illegal = [
            (Received, Completed),
            (Received, Executing),
            (Validated, GateDecided),
            (GateDecided, Executing),
            (HumanReviewPending, Executing),
            (HumanRejected, Executing),
            (EffectUnknown, Executing),
            (Completed, Received),
            (Closed, Executing),
            (Discarded, Replayed),
            (Compensated, Compensating),
            (NotifyFailed, Notified),
            (Executing, Completed),
            (Escalated, HumanApproved),
            (DeadLettered, Executing),
            (HumanReviewPending, DeadLettered),
        ];
        for (from, to) in illegal {
            assert!(
                !from.can_transition_to(to),
                "{from} -> {to} must be refused"
            );
        }
    }

    #[test]
    fn terminal_states_only_lead_to_compensation() {
        for &from in State::ALL.iter().filter(|s| s.is_terminal()) {
            for &to in State::ALL {
                if from.can_transition_to(to) {
                    assert_eq!((from, to), (Completed, Compensating));
                }
            }
        }
    }

    #[test]
    fn no_self_loops() {
        for &s in State::ALL {
            assert!(!s.can_transition_to(s), "{s}");
        }
    }

    #[test]
    fn names_round_trip() {
        for &s in State::ALL {
            assert_eq!(s.as_str().parse::<State>().ok(), Some(s));
            let json = serde_json::to_string(&s).ok();
            assert_eq!(json, Some(format!("\"{}\"", s.as_str())));
        }
        assert!("received".parse::<State>().is_err());
    }

    #[test]
    fn transition_table_snapshot() {
        let table: Vec<String> = State::legal_transitions()
            .map(|(from, to)| format!("{from} -> {to}"))
            .collect();
        insta::assert_json_snapshot!(table);
    }
}
