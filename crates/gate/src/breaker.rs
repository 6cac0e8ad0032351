//! The breaker: trips a workflow's kill switch when its failure,
//! low-confidence or reviewer-rejection rate passes the declared limit.
//!
//! Rates come from the ledger ([`LedgerClient::workflow_stats`]), computed
//! over one window from the shared journal, so every gate replica sees the
//! same numbers and the window is fleet-wide, not per replica. Replicas race
//! to trip by compare-and-set on the switch bucket: one wins, writes the
//! switch under its ledger identity and audits the trip with the rates.
//! Only a switch that is on is tripped; an operator's `off` is left alone,
//! and going back on is always an operator's `sluice switch on`.
//!
//! When the workflow allows it (`half_open_after_s`), a tripped switch goes
//! half-open after that long, letting `canaries` items through; canary
//! failures trip it again, otherwise it waits for an operator.

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use sluice_bus::{KeyedSwitch, Switch, SwitchState, Switches};
use sluice_core::metrics::{BREAKER_RATE, BREAKER_STATE, BREAKER_TRIPS, BREAKER_UNAUDITED};
use sluice_core::workflow::BreakerSpec;
use sluice_ledger::{LedgerClient, SwitchChange, WorkflowStats};
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::drift::DriftMonitor;

/// Trips and half-opens the switches of workflows that declare a breaker.
pub struct Breaker {
    ledger: LedgerClient,
    switches: Switches,
    drift: DriftMonitor,
    workflows: Vec<(String, BreakerSpec)>,
    every: Duration,
}

/// A limit that was passed.
#[derive(Debug, Clone, PartialEq)]
pub struct Trip {
    /// `failure`, `low_confidence`, `rejection` or `drift`.
    pub kind: &'static str,
    /// For drift, the field and signal (`time empty`).
    pub what: Option<String>,
    /// The rate seen.
    pub rate: f64,
    /// The declared limit.
    pub limit: f64,
    /// How many samples the rate is over.
    pub samples: u64,
}

/// The first limit of `spec` that `stats` passes, given at least
/// `min_samples` samples for that rate.
pub fn tripped(spec: &BreakerSpec, stats: &WorkflowStats, min_samples: u64) -> Option<Trip> {
    let effects = stats.effects_completed + stats.effects_failed;
    let rates = [
        (
            "failure",
            spec.max_failure_rate,
            stats.effects_failed,
            effects,
        ),
        (
            "low_confidence",
            spec.max_low_confidence_rate,
            stats.low_confidence,
            stats.decided,
        ),
        (
            "rejection",
            spec.max_rejection_rate,
            stats.reviews_rejected,
            stats.reviews_decided,
        ),
    ];
    rates.into_iter().find_map(|(kind, limit, bad, samples)| {
        let limit = limit?;
        // Rates of small counts; precision is not a concern.
        #[allow(clippy::cast_precision_loss)]
        let rate = bad as f64 / samples.max(1) as f64;
        (samples >= min_samples.max(1) && rate > limit).then_some(Trip {
            kind,
            what: None,
            rate,
            limit,
            samples,
        })
    })
}

impl Breaker {
    /// A breaker over the workflows that declare one, checking every `every`.
    pub fn new(
        ledger: LedgerClient,
        switches: Switches,
        drift: DriftMonitor,
        workflows: Vec<(String, BreakerSpec)>,
        every: Duration,
    ) -> Self {
        Self {
            ledger,
            switches,
            drift,
            workflows,
            every: every.max(Duration::from_millis(100)),
        }
    }

    /// Checks every workflow each period until `shutdown`. A failed check
    /// is logged and tried again next period.
    pub async fn run(self, shutdown: CancellationToken) {
        if self.workflows.is_empty() {
            return;
        }
        let me = match self.ledger.who_am_i().await {
            Ok(identity) => identity.name,
            Err(e) => {
                tracing::warn!(error = %e, "breaker: cannot learn the gate's identity");
                "gate".to_owned()
            }
        };
        loop {
            for (workflow, spec) in &self.workflows {
                if let Err(e) = self.check(workflow, spec, &me).await {
                    tracing::warn!(%workflow, error = %e, "breaker check failed; will retry");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.every) => {}
            }
        }
    }

    async fn check(&self, workflow: &str, spec: &BreakerSpec, me: &str) -> Result<(), Error> {
        let current = self.switches.get(workflow).await?;
        let (state, revision) = current
            .as_ref()
            .map_or((SwitchState::On, 0), |s| (s.switch.state, s.revision));
        let position = match state {
            SwitchState::On => 0.0,
            SwitchState::HalfOpen => 1.0,
            SwitchState::Off => 2.0,
        };
        metrics::gauge!(BREAKER_STATE.name, "workflow" => workflow.to_owned()).set(position);
        match state {
            SwitchState::On => {
                let stats = self.ledger.workflow_stats(workflow, spec.window_s).await?;
                gauge(workflow, &stats);
                let trip = tripped(spec, &stats, spec.min_samples)
                    .or_else(|| self.drifted(workflow, None));
                if let Some(trip) = trip {
                    self.trip(workflow, revision, &trip, &stats, me).await?;
                }
            }
            SwitchState::HalfOpen => {
                let Some(current) = current.filter(|s| s.switch.source == "breaker") else {
                    return Ok(());
                };
                // Only what happened since the half-open began counts: the
                // burst that tripped the switch is still in the window.
                let since = current.switch.at.map_or(spec.window_s, |at| {
                    u32::try_from((Utc::now() - at).num_seconds().max(1)).unwrap_or(u32::MAX)
                });
                let stats = self
                    .ledger
                    .workflow_stats(workflow, since.min(spec.window_s))
                    .await?;
                let half_open_at = Instant::now()
                    .checked_sub(Duration::from_secs(u64::from(since)))
                    .unwrap_or_else(Instant::now);
                let trip =
                    tripped(spec, &stats, 1).or_else(|| self.drifted(workflow, Some(half_open_at)));
                if let Some(trip) = trip {
                    self.trip(workflow, revision, &trip, &stats, me).await?;
                }
            }
            SwitchState::Off => {
                if let Some(current) = current {
                    self.maybe_half_open(workflow, spec, &current, me).await?;
                }
            }
        }
        Ok(())
    }

    /// The first drift alarm of `workflow` as a trip, over the outputs seen
    /// since `since`.
    fn drifted(&self, workflow: &str, since: Option<Instant>) -> Option<Trip> {
        let alarm = self
            .drift
            .alarms(workflow, Instant::now(), since)
            .into_iter()
            .next()?;
        Some(Trip {
            kind: "drift",
            what: Some(format!("{} {}", alarm.field, alarm.signal.as_str())),
            rate: alarm.rate,
            limit: alarm.baseline + alarm.max_increase,
            samples: alarm.samples,
        })
    }

    async fn trip(
        &self,
        workflow: &str,
        revision: u64,
        trip: &Trip,
        stats: &WorkflowStats,
        me: &str,
    ) -> Result<(), Error> {
        let what = trip
            .what
            .as_deref()
            .map_or(String::new(), |w| format!(" of {w}"));
        let reason = format!(
            "breaker: {} rate{what} {:.2} > {:.2} over {} samples",
            trip.kind, trip.rate, trip.limit, trip.samples
        );
        let switch = Switch {
            state: SwitchState::Off,
            by: me.to_owned(),
            reason: reason.clone(),
            at: Some(Utc::now()),
            source: "breaker".to_owned(),
            canaries: 0,
            audit_id: None,
        };
        if self
            .switches
            .put_if(workflow, &switch, revision)
            .await?
            .is_none()
        {
            return Ok(()); // Another replica tripped it first.
        }
        tracing::error!(%workflow, %reason, "breaker tripped: workflow switched off");
        metrics::counter!(BREAKER_TRIPS.name,
            "workflow" => workflow.to_owned(), "rate" => trip.kind)
        .increment(1);
        let detail = json!({
            "kind": trip.kind, "what": trip.what, "rate": trip.rate, "limit": trip.limit, "samples": trip.samples,
            "stats": {
                "decided": stats.decided, "low_confidence": stats.low_confidence,
                "effects_completed": stats.effects_completed, "effects_failed": stats.effects_failed,
                "reviews_decided": stats.reviews_decided, "reviews_rejected": stats.reviews_rejected,
            },
        });
        self.audit(workflow, SwitchState::Off, reason, detail).await
    }

    async fn maybe_half_open(
        &self,
        workflow: &str,
        spec: &BreakerSpec,
        current: &KeyedSwitch,
        me: &str,
    ) -> Result<(), Error> {
        let (Some(after), Some(at)) = (spec.half_open_after_s, current.switch.at) else {
            return Ok(());
        };
        let due = at + chrono::Duration::seconds(i64::from(after));
        if current.switch.source != "breaker" || Utc::now() < due {
            return Ok(());
        }
        let reason = format!(
            "breaker: half-open after {after}s, {} canaries",
            spec.canaries
        );
        let switch = Switch {
            state: SwitchState::HalfOpen,
            by: me.to_owned(),
            reason: reason.clone(),
            at: Some(Utc::now()),
            source: "breaker".to_owned(),
            canaries: spec.canaries,
            audit_id: None,
        };
        if self
            .switches
            .put_if(workflow, &switch, current.revision)
            .await?
            .is_none()
        {
            return Ok(());
        }
        tracing::warn!(%workflow, canaries = spec.canaries, "breaker half-open");
        self.audit(
            workflow,
            SwitchState::HalfOpen,
            reason,
            json!({ "canaries": spec.canaries }),
        )
        .await
    }

    async fn audit(
        &self,
        workflow: &str,
        state: SwitchState,
        reason: String,
        detail: serde_json::Value,
    ) -> Result<(), Error> {
        let change = SwitchChange {
            key: workflow.to_owned(),
            state: state.as_str().to_owned(),
            reason,
            source: "breaker".to_owned(),
            detail: Some(detail),
        };
        if let Err(e) = self.ledger.record_switch_change(&change).await {
            // The switch is already off (the safe side); say loudly that its
            // audit row is missing.
            metrics::counter!(BREAKER_UNAUDITED.name, "workflow" => workflow.to_owned())
                .increment(1);
            return Err(e.into());
        }
        Ok(())
    }
}

/// Publishes the current rates, so dashboards show how close a breaker is.
fn gauge(workflow: &str, stats: &WorkflowStats) {
    let effects = stats.effects_completed + stats.effects_failed;
    #[allow(clippy::cast_precision_loss)]
    let rate = |bad: u64, all: u64| bad as f64 / all.max(1) as f64;
    let rates = [
        ("failure", rate(stats.effects_failed, effects)),
        ("low_confidence", rate(stats.low_confidence, stats.decided)),
        (
            "rejection",
            rate(stats.reviews_rejected, stats.reviews_decided),
        ),
    ];
    for (kind, value) in rates {
        metrics::gauge!(BREAKER_RATE.name, "workflow" => workflow.to_owned(), "rate" => kind)
            .set(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> BreakerSpec {
        BreakerSpec {
            window_s: 60,
            min_samples: 4,
            max_failure_rate: Some(0.5),
            max_low_confidence_rate: None,
            max_rejection_rate: Some(0.3),
            half_open_after_s: None,
            canaries: 2,
        }
    }

    #[test]
    fn trips_on_the_first_limit_passed_with_enough_samples() {
        let mut stats = WorkflowStats {
            effects_completed: 1,
            effects_failed: 2,
            ..Default::default()
        };
        assert_eq!(tripped(&spec(), &stats, 4), None, "3 samples are too few");
        stats.effects_failed = 3;
        let trip = tripped(&spec(), &stats, 4).expect("trips");
        assert_eq!((trip.kind, trip.samples), ("failure", 4));
        assert!((trip.rate - 0.75).abs() < 1e-9);
        stats.effects_failed = 1;
        stats.effects_completed = 3;
        assert_eq!(tripped(&spec(), &stats, 4), None, "at or below the limit");
    }

    #[test]
    fn undeclared_limits_are_not_watched() {
        let stats = WorkflowStats {
            decided: 10,
            low_confidence: 10,
            reviews_decided: 5,
            reviews_rejected: 2,
            ..Default::default()
        };
        let trip = tripped(&spec(), &stats, 4).expect("rejections trip");
        assert_eq!(trip.kind, "rejection");
    }
}
