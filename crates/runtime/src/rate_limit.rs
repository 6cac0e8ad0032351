//! A token bucket per key (a source, a client address): a service's own
//! rate limit, answered 429.
//!
//! It protects this replica (and the ledger behind it) from one noisy
//! caller; it is per replica, not fleet-wide, which is what a 429 with
//! `Retry-After` needs: the sender slows down and tries again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Per-key token buckets.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// `burst` at once per key, refilled at `per_second` (0 allows
    /// everything).
    pub fn new(per_second: f64, burst: u32) -> Self {
        Self {
            per_second,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`, or says how long until one is free.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    /// Whether `key` has a token left, without taking it: for limits that
    /// only failures count against (a sign-in is refused once the failed
    /// ones used up the bucket).
    pub fn peek(&self, key: &str) -> Result<(), Duration> {
        self.take_at(key, Instant::now(), 0.0)
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        self.take_at(key, now, 1.0)
    }

    fn take_at(&self, source: &str, now: Instant, cost: f64) -> Result<(), Duration> {
        let rate = self.per_second;
        // Zero, negative or NaN: no limit.
        if rate.is_nan() || rate <= 0.0 {
            return Ok(());
        }
        let burst = f64::from(self.burst.max(1));
        // A poisoned lock only means another request panicked mid-update;
        // the buckets are still usable numbers.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(source.to_owned()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= cost;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_refills() {
        let limiter = RateLimiter::new(2.0, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check_at("a", t0).is_ok());
        }
        let wait = limiter.check_at("a", t0).expect_err("limited");
        assert!(wait <= Duration::from_millis(500), "{wait:?}");
        assert!(limiter.check_at("b", t0).is_ok(), "buckets are per source");
        assert!(
            limiter
                .check_at("a", t0 + Duration::from_millis(500))
                .is_ok()
        );
    }

    #[test]
    fn peeking_takes_nothing() {
        let limiter = RateLimiter::new(1.0, 2);
        for _ in 0..10 {
            assert!(limiter.peek("a").is_ok());
        }
        assert!(limiter.check("a").is_ok() && limiter.check("a").is_ok());
        assert!(limiter.peek("a").is_err(), "the two checks used the burst");
    }

    #[test]
    fn zero_rate_disables() {
        let limiter = RateLimiter::new(0.0, 0);
        for _ in 0..1000 {
            assert!(limiter.check("a").is_ok());
        }
    }
}
