//! Which due slots a tick fires, by the schedule's catch-up policy.

use chrono::{DateTime, Duration, Utc};
use sluice_core::CatchUp;

/// What a tick does with the slots due since the schedule was last handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The slots to fire, oldest first.
    pub fire: Vec<DateTime<Utc>>,
    /// Up to where the schedule counts as handled once they are fired: the
    /// last slot due, whether fired or deliberately skipped.
    pub handled_until: Option<DateTime<Utc>>,
}

/// A slot due more than `grace` ago was missed (no replica fired it in
/// time); `catch_up` decides what becomes of missed slots. A slot still
/// within `grace` is on time and always fires.
pub fn due(
    slots: &[DateTime<Utc>],
    catch_up: CatchUp,
    now: DateTime<Utc>,
    grace: Duration,
) -> Plan {
    let handled_until = slots.last().copied();
    let (missed, on_time): (Vec<_>, Vec<_>) = slots.iter().partition(|s| now - **s > grace);
    let mut fire: Vec<DateTime<Utc>> = match catch_up {
        CatchUp::All => missed,
        CatchUp::Once => missed.last().copied().into_iter().collect(),
        CatchUp::Skip => Vec::new(),
    };
    fire.extend(on_time);
    Plan {
        fire,
        handled_until,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn missed_slots_follow_the_policy_and_on_time_ones_always_fire() {
        // Slots every 10 s; the replica comes back at 45 s: 0, 10, 20, 30
        // were missed, 40 is on time.
        let slots: Vec<_> = (0..5).map(|i| at(i * 10)).collect();
        let now = at(45);
        let grace = Duration::seconds(8);
        let all = due(&slots, CatchUp::All, now, grace);
        assert_eq!(all.fire, slots);
        let once = due(&slots, CatchUp::Once, now, grace);
        assert_eq!(once.fire, vec![at(30), at(40)]);
        let skip = due(&slots, CatchUp::Skip, now, grace);
        assert_eq!(skip.fire, vec![at(40)]);
        for plan in [all, once, skip] {
            assert_eq!(
                plan.handled_until,
                Some(at(40)),
                "handled whatever was fired"
            );
        }
        assert_eq!(due(&[], CatchUp::All, now, grace).handled_until, None);
    }
}
