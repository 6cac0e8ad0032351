//! A token bucket per source: the service's own rate limit, answered 429.
//!
//! It protects this replica (and the ledger behind it) from one noisy
//! upstream; it is per replica, not fleet-wide, which is what a 429 with
//! `Retry-After` needs: the sender slows down and tries again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::options::RateLimitOptions;

/// Per-source token buckets.
#[derive(Debug)]
pub struct RateLimiter {
    options: RateLimitOptions,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// A limiter with `options` (a `per_second` of 0 allows everything).
    pub fn new(options: RateLimitOptions) -> Self {
        Self {
            options,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `source`, or says how long until one is free.
    pub fn check(&self, source: &str) -> Result<(), Duration> {
        self.check_at(source, Instant::now())
    }

    fn check_at(&self, source: &str, now: Instant) -> Result<(), Duration> {
        let rate = self.options.per_second;
        // Zero, negative or NaN: no limit.
        if rate.is_nan() || rate <= 0.0 {
            return Ok(());
        }
        let burst = f64::from(self.options.burst.max(1));
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
            bucket.tokens -= 1.0;
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
        let limiter = RateLimiter::new(RateLimitOptions {
            per_second: 2.0,
            burst: 3,
        });
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
    fn zero_rate_disables() {
        let limiter = RateLimiter::new(RateLimitOptions {
            per_second: 0.0,
            burst: 0,
        });
        for _ in 0..1000 {
            assert!(limiter.check("a").is_ok());
        }
    }
}
