//! Deterministic extractors: the offline default backend and the fallback
//! when the model is down, over budget or keeps answering invalid output.
//!
//! A domain's extractor is a small plug-in registered by name in a
//! [`Registry`]; a workflow names it in `interpret.fallback` (and uses it as
//! its primary backend with `interpret.backend = "rules"`).

pub mod crm;
pub mod reservation;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveTime};
use chrono_tz::Tz;
use serde_json::{Map, Value};

/// What an extractor reads.
#[derive(Debug, Clone)]
pub struct ExtractInput<'a> {
    /// The source the event came from (`whatsapp`).
    pub source: &'a str,
    /// The upstream payload, as accepted by ingest.
    pub payload: &'a Value,
    /// The reference time in the workflow's timezone: relative dates and
    /// times resolve against it. Tests freeze it.
    pub now: DateTime<Tz>,
    /// When the business is open, to resolve a bare hour ("nine").
    pub opening_hours: Option<OpeningHours>,
}

/// A daily opening window, `open..=close` (a close before open wraps midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpeningHours {
    /// Opening time.
    pub open: NaiveTime,
    /// Closing time.
    pub close: NaiveTime,
}

impl OpeningHours {
    /// Whether `t` lies inside the window.
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.open <= self.close {
            self.open <= t && t <= self.close
        } else {
            t >= self.open || t <= self.close
        }
    }

    /// Reads `{ open = "12:00", close = "23:30" }` from a gate rule.
    pub fn from_rule(rule: &toml::Value) -> Option<Self> {
        let parse = |k: &str| {
            rule.get(k)
                .and_then(toml::Value::as_str)
                .and_then(|s| NaiveTime::parse_from_str(s, "%H:%M").ok())
        };
        Some(Self {
            open: parse("open")?,
            close: parse("close")?,
        })
    }
}

/// What an extractor found. Fields it could not determine are absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extraction {
    /// The (possibly partial) contract.
    pub contract: Map<String, Value>,
    /// Confidence per field, 0–1.
    pub field_confidence: BTreeMap<String, f64>,
}

impl Extraction {
    /// Sets `field` to `value` with `confidence`.
    pub fn set(&mut self, field: &str, value: impl Into<Value>, confidence: f64) {
        self.contract.insert(field.to_owned(), value.into());
        self.field_confidence.insert(field.to_owned(), confidence);
    }
}

/// A domain's deterministic extractor.
pub trait Extractor: Send + Sync + std::fmt::Debug {
    /// Contract fields taken from the payload's metadata rather than from
    /// free text (channel, message id, sender). They are authoritative: a
    /// model's values for them are replaced, so untrusted text can never move
    /// an idempotency key or a conversation key.
    fn fixed_fields(&self, source: &str, payload: &Value) -> Map<String, Value>;

    /// The free text of the payload, shown to the model as data.
    fn message_text(&self, payload: &Value) -> String;

    /// Reads the contract from the payload.
    fn extract(&self, input: &ExtractInput<'_>) -> Extraction;
}

/// Extractors by name.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    extractors: BTreeMap<String, Arc<dyn Extractor>>,
}

impl Registry {
    /// A registry with the extractors Sluice ships (`reservation`,
    /// `crm-enrichment`).
    pub fn with_builtin() -> Self {
        let mut registry = Self::default();
        registry.register("reservation", Arc::new(reservation::ReservationExtractor));
        registry.register("crm-enrichment", Arc::new(crm::CrmExtractor));
        registry
    }

    /// Adds (or replaces) the extractor called `name`.
    pub fn register(&mut self, name: &str, extractor: Arc<dyn Extractor>) {
        self.extractors.insert(name.to_owned(), extractor);
    }

    /// The extractor called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Extractor>> {
        self.extractors.get(name).cloned()
    }
}

/// Overall confidence: the mean of the field confidences, or a low constant
/// when nothing was understood (the gate will then ask or review).
pub fn overall_confidence(fields: &BTreeMap<String, f64>, considered: &[&str]) -> f64 {
    let values: Vec<f64> = considered
        .iter()
        .filter_map(|f| fields.get(*f).copied())
        .collect();
    if values.is_empty() {
        return 0.3;
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    (mean * 100.0).round() / 100.0
}
