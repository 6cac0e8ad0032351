//! Redelivery delays: exponential backoff with full jitter.
//!
//! Full jitter (a uniform draw between zero and the exponential ceiling)
//! spreads the retries of many messages that failed together — a target
//! outage — instead of bringing them back in synchronized waves.

use std::time::Duration;

/// The exponential backoff applied to naks, by delivery count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling after the first delivery; it doubles with every further one.
    pub base: Duration,
    /// The largest ceiling.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            max: Duration::from_secs(5 * 60),
        }
    }
}

impl Backoff {
    /// The upper bound of the delay after the `delivered`-th delivery failed:
    /// `min(max, base · 2^(delivered−1))` (delivery counts start at 1).
    pub fn ceiling(&self, delivered: u64) -> Duration {
        let doublings = delivered.saturating_sub(1).min(63) as u32;
        let factor = 1u64.checked_shl(doublings).unwrap_or(u64::MAX);
        let nanos = self.base.as_nanos().saturating_mul(u128::from(factor));
        let max = self.max.as_nanos();
        let capped = nanos.min(max).min(u128::from(u64::MAX));
        Duration::from_nanos(u64::try_from(capped).unwrap_or(u64::MAX))
    }

    /// A full-jitter delay for the `delivered`-th delivery: uniform in
    /// `[0, ceiling(delivered)]`.
    pub fn jittered(&self, delivered: u64, rng: &mut fastrand::Rng) -> Duration {
        let ceiling = u64::try_from(self.ceiling(delivered).as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rng.u64(0..=ceiling))
    }

    /// The nak delay for a handler that asked to retry no sooner than
    /// `after`: whichever of `after` and the jittered backoff is longer, so a
    /// handler's minimum is always honoured and a handler that says "now"
    /// still backs off.
    pub fn nak_delay(&self, after: Duration, delivered: u64, rng: &mut fastrand::Rng) -> Duration {
        after.max(self.jittered(delivered, rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn policy() -> Backoff {
        Backoff {
            base: 100 * MS,
            max: 1000 * MS,
        }
    }

    #[test]
    fn ceiling_doubles_then_caps() {
        let b = policy();
        assert_eq!(b.ceiling(0), 100 * MS);
        assert_eq!(b.ceiling(1), 100 * MS);
        assert_eq!(b.ceiling(2), 200 * MS);
        assert_eq!(b.ceiling(3), 400 * MS);
        assert_eq!(b.ceiling(4), 800 * MS);
        assert_eq!(b.ceiling(5), 1000 * MS);
        assert_eq!(b.ceiling(u64::MAX), 1000 * MS);
    }

    #[test]
    fn huge_values_do_not_overflow() {
        let b = Backoff {
            base: Duration::MAX,
            max: Duration::MAX,
        };
        assert!(b.ceiling(200) > Duration::ZERO);
        let mut rng = fastrand::Rng::with_seed(1);
        let _ = b.jittered(200, &mut rng);
    }

    #[test]
    fn jitter_stays_within_zero_and_the_ceiling_and_spreads() {
        let b = policy();
        let mut rng = fastrand::Rng::with_seed(7);
        for delivered in 1..10 {
            let draws: Vec<Duration> = (0..500).map(|_| b.jittered(delivered, &mut rng)).collect();
            let ceiling = b.ceiling(delivered);
            assert!(draws.iter().all(|d| *d <= ceiling));
            // Full jitter: draws cover the range rather than cluster at the top.
            assert!(draws.iter().any(|d| *d < ceiling / 4), "{delivered}");
            assert!(draws.iter().any(|d| *d > ceiling * 3 / 4), "{delivered}");
        }
    }

    #[test]
    fn nak_delay_never_undercuts_the_handlers_minimum() {
        let b = policy();
        let mut rng = fastrand::Rng::with_seed(3);
        for delivered in 1..20 {
            let after = 700 * MS;
            let d = b.nak_delay(after, delivered, &mut rng);
            assert!(d >= after);
            assert!(d <= after.max(b.ceiling(delivered)));
        }
        assert!(b.nak_delay(Duration::ZERO, 1, &mut rng) <= 100 * MS);
    }
}
