//! W3C trace context in NATS headers.
//!
//! A publish writes the context of the span it runs in (see
//! [`sluice_runtime::propagation`]); the consume loop makes the context in a
//! delivery's headers the parent of the span it opens for the handler. When
//! spans are not exported there is no such context, and every message still
//! carries a well-formed `traceparent`: the one it was given, or a fresh
//! one, so downstream tooling can join the hops of one execution anyway.

use async_nats::HeaderMap;
use opentelemetry::propagation::{Extractor, Injector};
use sluice_core::headers;

/// NATS headers as an OpenTelemetry carrier to write into.
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key, value);
    }
}

/// NATS headers as an OpenTelemetry carrier to read from.
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_ref()).collect()
    }
}

/// Sets `traceparent` in `map`: the current span's context when spans are
/// exported, otherwise `fallback` if it is valid, otherwise a fresh one.
pub fn set_traceparent(map: &mut HeaderMap, fallback: Option<&str>) {
    if !sluice_runtime::propagation::inject_current(&mut HeaderInjector(map)) {
        map.insert(headers::TRACEPARENT, traceparent_or_new(fallback));
    }
}

/// Returns `given` when it is a well-formed W3C `traceparent`, otherwise a
/// freshly generated, sampled one (`00-<32 hex>-<16 hex>-01`).
///
/// A malformed upstream value is replaced rather than forwarded: a header
/// that breaks a tracer downstream is worse than starting a new trace.
pub fn traceparent_or_new(given: Option<&str>) -> String {
    match given {
        Some(tp) if is_valid_traceparent(tp) => tp.to_owned(),
        _ => new_traceparent(),
    }
}

/// A fresh sampled `traceparent` with random, non-zero trace and span ids.
pub fn new_traceparent() -> String {
    // All-zero ids are invalid in W3C trace context, hence the lower bound.
    let trace_id = fastrand::u128(1..);
    let span_id = fastrand::u64(1..);
    format!("00-{trace_id:032x}-{span_id:016x}-01")
}

/// Whether `value` is a version-00-shaped W3C `traceparent` with non-zero ids.
pub fn is_valid_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let [version, trace_id, span_id, flags] = parts.as_slice() else {
        return false;
    };
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let non_zero = |s: &str| s.bytes().any(|b| b != b'0');
    hex(version, 2)
        && *version != "ff"
        && hex(trace_id, 32)
        && non_zero(trace_id)
        && hex(span_id, 16)
        && non_zero(span_id)
        && hex(flags, 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_values_are_valid() {
        for _ in 0..100 {
            let tp = new_traceparent();
            assert!(is_valid_traceparent(&tp), "{tp}");
            assert_eq!(tp.len(), 55);
        }
    }

    #[test]
    fn passes_valid_values_through_and_replaces_bad_ones() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(traceparent_or_new(Some(good)), good);
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nX: y",
        ] {
            let out = traceparent_or_new(Some(bad));
            assert_ne!(out, bad);
            assert!(is_valid_traceparent(&out));
        }
        assert!(is_valid_traceparent(&traceparent_or_new(None)));
    }
}
