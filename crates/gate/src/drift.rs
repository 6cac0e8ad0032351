//! The output drift monitor: is the model still answering like it did?
//!
//! A model that changes underneath, a prompt edit or an upstream format
//! change rarely fails loudly: the output stays valid JSON while a field
//! starts coming back empty, uncertain or malformed. For every workflow that
//! declares `[gate.drift]`, the gate counts, per watched field, the outputs
//! in a sliding window where the field was empty, below the confidence
//! limit, or failed the schema in the primary backend's first answer. Each
//! rate is published as `sluice_drift_rate`; one above its baseline by more
//! than `max_increase` (on at least `min_samples` outputs) sets
//! `sluice_drift_alarm`, and the breaker trips the workflow's switch on it.
//!
//! The window is this replica's: replicas share the stage's consumer, so
//! each sees a random share of the outputs and the same rates, on fewer
//! samples (`min_samples` counts per replica).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_core::metrics::{DRIFT_ALARM, DRIFT_RATE};
use sluice_core::pipeline::Interpretation;
use sluice_core::workflow::{DriftSignal, DriftSpec};

use crate::rules::Policy;

/// Shared between the gate's handler (which observes) and the breaker
/// (which trips on alarms); cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct DriftMonitor {
    watches: Arc<Mutex<HashMap<String, Watch>>>,
}

#[derive(Debug)]
struct Watch {
    spec: DriftSpec,
    low_below: f64,
    samples: VecDeque<Sample>,
    /// How many samples in the window flag each (field, signal), kept as
    /// samples come and go: every decision publishes the rates, and
    /// rescanning a busy window for each would cost O(window) per decision.
    counts: HashMap<(String, DriftSignal), u64>,
    alarming: BTreeSet<(String, DriftSignal)>,
}

#[derive(Debug)]
struct Sample {
    at: Instant,
    flagged: BTreeSet<(String, DriftSignal)>,
}

/// A rate above its baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftAlarm {
    /// The contract field.
    pub field: String,
    /// What was counted.
    pub signal: DriftSignal,
    /// The rate in the window.
    pub rate: f64,
    /// The declared healthy rate.
    pub baseline: f64,
    /// How far above the baseline is allowed.
    pub max_increase: f64,
    /// Outputs in the window.
    pub samples: u64,
}

impl DriftMonitor {
    /// A monitor over the workflows of `policies` that declare drift.
    pub fn new(policies: &[Policy]) -> Self {
        let watches = policies
            .iter()
            .filter_map(|p| {
                let spec = p.spec.gate.drift.clone()?;
                let low_below = spec
                    .low_confidence_below
                    .unwrap_or(p.spec.gate.auto_threshold);
                let watch = Watch {
                    spec,
                    low_below,
                    samples: VecDeque::new(),
                    counts: HashMap::new(),
                    alarming: BTreeSet::new(),
                };
                Some((p.spec.name.clone(), watch))
            })
            .collect();
        Self {
            watches: Arc::new(Mutex::new(watches)),
        }
    }

    /// Counts one output of `workflow` seen at `at`, and publishes the rates.
    pub fn observe(&self, workflow: &str, interpretation: &Interpretation, at: Instant) {
        let mut watches = self.watches.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(watch) = watches.get_mut(workflow) else {
            return;
        };
        let flagged = watch.flags(interpretation);
        for key in &flagged {
            *watch.counts.entry(key.clone()).or_default() += 1;
        }
        watch.samples.push_back(Sample { at, flagged });
        watch.update(workflow, at);
    }

    /// The alarms of `workflow` at `at`, over the outputs seen since `since`
    /// (the whole window when `None`), and publishes the rates.
    pub fn alarms(&self, workflow: &str, at: Instant, since: Option<Instant>) -> Vec<DriftAlarm> {
        let mut watches = self.watches.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(watch) = watches.get_mut(workflow) else {
            return Vec::new();
        };
        watch.update(workflow, at);
        watch.evaluate(since)
    }
}

impl Watch {
    fn flags(&self, interpretation: &Interpretation) -> BTreeSet<(String, DriftSignal)> {
        let all_failed = interpretation.schema_failures.iter().any(|f| f == "*");
        let mut flagged = BTreeSet::new();
        for field in &self.spec.fields {
            let empty = match interpretation.contract.get(field) {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.trim().is_empty(),
                Some(_) => false,
            };
            let low = interpretation
                .field_confidence
                .get(field)
                .is_some_and(|c| *c < self.low_below);
            let failed = all_failed || interpretation.schema_failures.contains(field);
            for (signal, hit) in [
                (DriftSignal::Empty, empty),
                (DriftSignal::LowConfidence, low),
                (DriftSignal::SchemaFailure, failed),
            ] {
                if hit {
                    flagged.insert((field.clone(), signal));
                }
            }
        }
        flagged
    }

    /// Drops outputs older than the window, then publishes every rate and
    /// alarm, logging an alarm when it starts.
    fn update(&mut self, workflow: &str, at: Instant) {
        let window = Duration::from_secs(u64::from(self.spec.window_s));
        while let Some(old) = self
            .samples
            .pop_front_if(|s| at.saturating_duration_since(s.at) > window)
        {
            for key in old.flagged {
                if let Some(count) = self.counts.get_mut(&key) {
                    *count = count.saturating_sub(1);
                }
            }
        }
        let alarms = self.evaluate(None);
        for field in &self.spec.fields {
            for signal in DriftSignal::ALL {
                let rate = self.rate(field, signal, None).0;
                let on = alarms
                    .iter()
                    .any(|a| &a.field == field && a.signal == signal);
                metrics::gauge!(DRIFT_RATE.name,
                    "workflow" => workflow.to_owned(), "field" => field.clone(), "signal" => signal.as_str())
                .set(rate);
                metrics::gauge!(DRIFT_ALARM.name,
                    "workflow" => workflow.to_owned(), "field" => field.clone(), "signal" => signal.as_str())
                .set(if on { 1.0 } else { 0.0 });
                let key = (field.clone(), signal);
                if on && self.alarming.insert(key.clone()) {
                    tracing::warn!(%workflow, %field, signal = signal.as_str(), rate, "output drift");
                } else if !on {
                    self.alarming.remove(&key);
                }
            }
        }
    }

    fn evaluate(&self, since: Option<Instant>) -> Vec<DriftAlarm> {
        let spec = &self.spec;
        let mut alarms = Vec::new();
        for field in &spec.fields {
            for signal in DriftSignal::ALL {
                let (rate, samples) = self.rate(field, signal, since);
                let baseline = spec.baseline_of(field, signal);
                if samples >= spec.min_samples.max(1) && rate > baseline + spec.max_increase {
                    alarms.push(DriftAlarm {
                        field: field.clone(),
                        signal,
                        rate,
                        baseline,
                        max_increase: spec.max_increase,
                        samples,
                    });
                }
            }
        }
        alarms
    }

    /// The rate of `signal` on `field`, and the number of outputs it is over.
    /// The whole window reads the running counts; `since` (the breaker's
    /// half-open check, once a period) scans the samples.
    fn rate(&self, field: &str, signal: DriftSignal, since: Option<Instant>) -> (f64, u64) {
        let key = (field.to_owned(), signal);
        let (hits, all) = match since {
            None => (
                self.counts.get(&key).copied().unwrap_or(0),
                self.samples.len() as u64,
            ),
            Some(since) => {
                let counted = self.samples.iter().filter(|s| s.at >= since);
                counted.fold((0, 0), |(hits, all), s| {
                    (hits + u64::from(s.flagged.contains(&key)), all + 1)
                })
            }
        };
        // Rates of small counts; precision is not a concern.
        #[allow(clippy::cast_precision_loss)]
        let rate = hits as f64 / all.max(1) as f64;
        (rate, all)
    }
}

#[cfg(test)]
#[path = "drift_tests.rs"]
mod tests;
