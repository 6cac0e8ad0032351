//! I1–I7 over a [`Snapshot`]: pure functions, so each can be tested on a
//! hand-made snapshot.

use std::collections::{BTreeMap, BTreeSet};

use sluice_core::State;

use super::Snapshot;
use crate::probe::resting;
use crate::setup::{SOURCE, WORKFLOW};

/// What the dead-letter replays (I4) did.
#[derive(Debug, Clone, Default)]
pub struct Replays {
    /// Entries in the index before the first round.
    pub entries: usize,
    /// Rounds run (each replays every entry).
    pub rounds: usize,
    /// Errors of `sluice dlq replay`, if any.
    pub errors: Vec<String>,
    /// Bookings per key before the first round.
    pub bookings_before: BTreeMap<String, usize>,
}

/// One invariant's result.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// `I1` … `I7`.
    pub id: &'static str,
    /// What it says.
    pub title: &'static str,
    /// Whether it held.
    pub held: bool,
    /// What was counted.
    pub summary: String,
    /// The first violations found.
    pub violations: Vec<String>,
}

struct Collect {
    violations: Vec<String>,
    count: usize,
}

impl Collect {
    fn new() -> Self {
        Self {
            violations: Vec::new(),
            count: 0,
        }
    }
    fn push(&mut self, violation: String) {
        self.count += 1;
        if self.violations.len() < 20 {
            self.violations.push(violation);
        }
    }
    fn verdict(self, id: &'static str, title: &'static str, summary: String) -> Verdict {
        Verdict {
            id,
            title,
            held: self.count == 0,
            summary: format!("{summary}; {} violation(s)", self.count),
            violations: self.violations,
        }
    }
}

/// The idempotency key of the reservation action for `event_id`.
pub fn key_of(event_id: &str) -> String {
    format!("{WORKFLOW}:{SOURCE}:{event_id}")
}

/// Every invariant.
pub fn check_all(s: &Snapshot, replays: &Replays) -> Vec<Verdict> {
    vec![i1(s), i2(s), i3(s), i4(s, replays), i5(s), i6(s), i7(s)]
}

fn state_of(name: &str) -> Option<State> {
    name.parse().ok()
}

fn journal_has(s: &Snapshot, id: &str, state: State) -> bool {
    s.journal
        .get(id)
        .is_some_and(|steps| steps.iter().any(|st| st.to == state.as_str()))
}

fn i1(s: &Snapshot) -> Verdict {
    let by_event: BTreeMap<&str, &str> = s
        .executions
        .iter()
        .map(|e| (e.event_id.as_str(), e.state.as_str()))
        .collect();
    let mut c = Collect::new();
    let mut states: BTreeMap<&str, usize> = BTreeMap::new();
    for event in &s.accepted {
        match by_event.get(event.as_str()) {
            None => c.push(format!("{event}: accepted, no execution (lost)")),
            Some(state) => {
                *states.entry(state).or_default() += 1;
                if !state_of(state).is_some_and(resting) {
                    c.push(format!("{event}: stuck in {state}"));
                }
            }
        }
    }
    let summary = format!("{} accepted; end states {states:?}", s.accepted.len());
    c.verdict(
        "I1",
        "every accepted event reaches a terminal state",
        summary,
    )
}

fn i2(s: &Snapshot) -> Verdict {
    let mut c = Collect::new();
    for (key, ids) in &s.bookings {
        if key.is_empty() {
            c.push(format!(
                "{} booking(s) without an idempotency key",
                ids.len()
            ));
        } else if ids.len() > 1 {
            c.push(format!("{key}: {} bookings {ids:?}", ids.len()));
        }
    }
    let total: usize = s.bookings.values().map(Vec::len).sum();
    let summary = format!("{total} bookings under {} keys", s.bookings.len());
    c.verdict("I2", "no key has more than one effect", summary)
}

fn i3(s: &Snapshot) -> Verdict {
    let mut c = Collect::new();
    let mut keys_seen = BTreeSet::new();
    let (mut completed, mut with_effect) = (0, 0);
    for e in &s.executions {
        let key = key_of(&e.event_id);
        let booked = s.bookings.get(&key).map_or(&[][..], Vec::as_slice);
        keys_seen.insert(key.clone());
        if e.state == State::Completed.as_str() {
            completed += 1;
            if booked.len() != 1 {
                c.push(format!("{}: COMPLETED with {} effects", e.id, booked.len()));
            }
            match s.keys.get(&key) {
                Some((state, _)) if state != "completed" => {
                    c.push(format!("{}: COMPLETED, ledger key {state}", e.id));
                }
                Some((_, Some(external))) if booked.len() == 1 && booked[0] != *external => {
                    c.push(format!(
                        "{}: ledger result {external}, target booking {}",
                        e.id, booked[0]
                    ));
                }
                None => c.push(format!("{}: COMPLETED without a ledger key", e.id)),
                _ => {}
            }
        }
        if !booked.is_empty() {
            with_effect += 1;
            let explicit = journal_has(s, &e.id, State::ActionCompleted)
                || journal_has(s, &e.id, State::EffectUnknown);
            if !explicit {
                c.push(format!(
                    "{}: effect in the target, none recorded ({})",
                    e.id, e.state
                ));
            }
        }
    }
    for key in s.bookings.keys().filter(|k| !k.is_empty()) {
        if !keys_seen.contains(key) {
            c.push(format!("{key}: effect with no execution"));
        }
    }
    let summary = format!("{completed} COMPLETED, {with_effect} with an effect");
    c.verdict(
        "I3",
        "terminal states match the target's effect log",
        summary,
    )
}

fn i4(s: &Snapshot, r: &Replays) -> Verdict {
    let mut c = Collect::new();
    for d in &s.dead_letters {
        if d.reason.trim().is_empty() {
            c.push(format!("dead letter {}: no reason", d.id));
        }
        if !["temporary", "permanent", "unknown"].contains(&d.class.as_str()) {
            c.push(format!("dead letter {}: class {:?}", d.id, d.class));
        }
    }
    for marker in &s.poison {
        if !s
            .dead_letters
            .iter()
            .any(|d| d.payload.contains(marker.as_str()))
        {
            c.push(format!(
                "{marker}: undeliverable input not in the dead-letter index"
            ));
        }
    }
    for error in &r.errors {
        c.push(format!("replay: {error}"));
    }
    for (key, ids) in &s.bookings {
        let before = r.bookings_before.get(key).copied().unwrap_or(0);
        if !key.is_empty() && ids.len() > before.max(1) {
            c.push(format!(
                "{key}: {before} booking(s) before the replays, {} after",
                ids.len()
            ));
        }
    }
    let summary = format!(
        "{} dead letters ({} before the replays, {} poison inputs), replayed {} times",
        s.dead_letters.len(),
        r.entries,
        s.poison.len(),
        r.rounds
    );
    c.verdict(
        "I4",
        "dead letters have reasons; replaying all twice adds no effect",
        summary,
    )
}

fn i5(s: &Snapshot) -> Verdict {
    let mut c = Collect::new();
    let mut transitions = 0;
    for e in &s.executions {
        let steps = s.journal.get(&e.id).map_or(&[][..], Vec::as_slice);
        let mut previous: Option<&str> = None;
        for (i, step) in steps.iter().enumerate() {
            transitions += 1;
            if step.seq != i as i64 + 1 {
                c.push(format!("{}: seq {} at position {}", e.id, step.seq, i + 1));
            }
            if step.from.as_deref() != previous {
                c.push(format!(
                    "{}: {:?} → {} after {previous:?}",
                    e.id, step.from, step.to
                ));
            }
            let legal = match (step.from.as_deref().map(state_of), state_of(&step.to)) {
                (None, Some(to)) => to == State::Received,
                (Some(Some(from)), Some(to)) => from.can_transition_to(to),
                _ => false,
            };
            if !legal {
                c.push(format!("{}: illegal {:?} → {}", e.id, step.from, step.to));
            }
            previous = Some(&step.to);
        }
        if previous != Some(e.state.as_str()) {
            c.push(format!(
                "{}: state {} but journal ends {previous:?}",
                e.id, e.state
            ));
        }
    }
    let summary = format!(
        "{transitions} transitions of {} executions",
        s.executions.len()
    );
    c.verdict("I5", "every journal transition is legal", summary)
}

fn i6(s: &Snapshot) -> Verdict {
    let mut c = Collect::new();
    let known: BTreeMap<&str, &str> = s
        .executions
        .iter()
        .map(|e| (e.id.as_str(), e.state.as_str()))
        .collect();
    let mut confirmed = 0;
    for (id, &n) in &s.messages {
        if n > 1 {
            c.push(format!("{id}: {n} confirmations"));
        }
        if !known.contains_key(id.as_str()) {
            c.push(format!("{id:?}: a confirmation for no execution"));
        } else if !journal_has(s, id, State::ActionCompleted) {
            c.push(format!("{id}: a confirmation without a completed effect"));
        }
        confirmed += n;
    }
    for e in &s.executions {
        if e.state == State::Completed.as_str() && !s.messages.contains_key(&e.id) {
            c.push(format!("{}: COMPLETED, no confirmation", e.id));
        }
    }
    c.verdict(
        "I6",
        "confirmations = completed effects, none missing, none doubled",
        format!("{confirmed} confirmations"),
    )
}

fn i7(s: &Snapshot) -> Verdict {
    let mut c = Collect::new();
    let correlation: BTreeMap<&str, &str> = s
        .executions
        .iter()
        .map(|e| (e.id.as_str(), e.correlation_id.as_str()))
        .collect();
    let mut same = |what: String, execution: Option<&str>, found: Option<&str>| {
        let expected = execution.and_then(|id| correlation.get(id).copied());
        match (found, expected) {
            (None | Some(""), _) => c.push(format!("{what}: no correlation id")),
            (Some(found), Some(expected)) if found != expected => {
                c.push(format!(
                    "{what}: correlation {found}, execution has {expected}"
                ));
            }
            _ => {}
        }
    };
    for e in &s.executions {
        same(format!("execution {}", e.id), None, Some(&e.correlation_id));
    }
    for d in s.dead_letters.iter().filter(|d| d.execution_id.is_some()) {
        let what = format!("dead letter {}", d.id);
        same(what, d.execution_id.as_deref(), Some(&d.correlation_id));
    }
    for (id, corr) in &s.reviews {
        same(format!("review item of {id}"), Some(id), Some(corr));
    }
    for m in &s.stored {
        let what = format!("{} message {}", m.stream, m.subject);
        same(what, m.execution_id.as_deref(), m.correlation_id.as_deref());
    }
    let records = s.executions.len() + s.dead_letters.len() + s.reviews.len() + s.stored.len();
    let summary = format!("{records} records ({} stream messages)", s.stored.len());
    c.verdict("I7", "every record carries its correlation id", summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Execution, Step};

    fn completed(event: &str) -> Snapshot {
        let id = format!("x-{event}");
        let path = [
            "RECEIVED",
            "VALIDATED",
            "MODEL_REQUESTED",
            "MODEL_COMPLETED",
            "OUTPUT_VALIDATED",
            "GATE_DECIDED",
            "AUTO_ACTION_PENDING",
            "EXECUTING",
            "ACTION_COMPLETED",
            "NOTIFIED",
            "COMPLETED",
        ];
        let steps = path
            .iter()
            .enumerate()
            .map(|(i, to)| Step {
                seq: i as i64 + 1,
                from: i.checked_sub(1).map(|p| path[p].to_owned()),
                to: (*to).to_owned(),
            })
            .collect();
        let mut s = Snapshot::default();
        s.accepted.insert(event.to_owned());
        s.executions.push(Execution {
            id: id.clone(),
            event_id: event.to_owned(),
            state: "COMPLETED".to_owned(),
            correlation_id: "c1".to_owned(),
        });
        s.journal.insert(id.clone(), steps);
        s.keys.insert(
            key_of(event),
            ("completed".to_owned(), Some("b1".to_owned())),
        );
        s.bookings.insert(key_of(event), vec!["b1".to_owned()]);
        s.messages.insert(id, 1);
        s
    }

    /// The failing invariants, the replays having added nothing.
    fn failing(s: &Snapshot) -> Vec<&'static str> {
        let replays = Replays {
            bookings_before: s
                .bookings
                .iter()
                .map(|(k, v)| (k.clone(), v.len()))
                .collect(),
            ..Replays::default()
        };
        check_all(s, &replays)
            .into_iter()
            .filter(|v| !v.held)
            .map(|v| v.id)
            .collect()
    }

    #[test]
    fn a_clean_execution_holds_every_invariant() {
        assert_eq!(failing(&completed("e1")), Vec::<&str>::new());
    }

    #[test]
    fn a_second_booking_under_one_key_is_caught() {
        let mut s = completed("e1");
        s.bookings.get_mut(&key_of("e1")).unwrap().push("b2".into());
        assert_eq!(failing(&s), ["I2", "I3"]);
    }

    #[test]
    fn a_booking_added_by_the_replays_is_caught() {
        let mut s = completed("e1");
        let replays = Replays {
            bookings_before: [(key_of("e1"), 1)].into(),
            ..Replays::default()
        };
        s.bookings.get_mut(&key_of("e1")).unwrap().push("b2".into());
        let failing: Vec<_> = check_all(&s, &replays)
            .into_iter()
            .filter(|v| !v.held)
            .map(|v| v.id)
            .collect();
        assert_eq!(failing, ["I2", "I3", "I4"]);
    }

    #[test]
    fn a_lost_event_and_a_missing_confirmation_are_caught() {
        let mut s = completed("e1");
        s.accepted.insert("e2".into());
        s.messages.clear();
        assert_eq!(failing(&s), ["I1", "I6"]);
    }

    #[test]
    fn an_illegal_transition_and_a_missing_correlation_are_caught() {
        let mut s = completed("e1");
        let steps = s.journal.get_mut("x-e1").unwrap();
        steps.retain(|st| st.to != "EXECUTING");
        for (i, st) in steps.iter_mut().enumerate() {
            st.seq = i as i64 + 1;
        }
        steps[7].from = Some("AUTO_ACTION_PENDING".into());
        s.executions[0].correlation_id.clear();
        assert_eq!(failing(&s), ["I5", "I7"]);
    }

    #[test]
    fn an_unindexed_poison_input_and_a_reasonless_dead_letter_are_caught() {
        let mut s = completed("e1");
        s.poison.push("chaos-poison-1".into());
        s.dead_letters.push(crate::check::DeadLetter {
            id: 1,
            execution_id: None,
            class: "permanent".into(),
            reason: String::new(),
            correlation_id: String::new(),
            payload: "something else".into(),
        });
        assert_eq!(failing(&s), ["I4"]);
    }
}
