//! The process-wide Prometheus recorder, set up from the metrics catalogue.
//!
//! Every entry of [`sluice_core::metrics::CATALOGUE`] is described to the
//! recorder (its `# HELP` line) and every histogram gets the catalogue's
//! buckets, so `/metrics` shows real `_bucket` series rather than summaries
//! and no service picks its own.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sluice_core::metrics::{CATALOGUE, MetricDef, MetricKind, MetricUnit};

/// The process-wide Prometheus recorder, installed on first use.
///
/// `metrics` has one global recorder per process; `sluice dev` and tests run
/// several services in one process, so they share this one. Call it before
/// the first metric is recorded (binding a [`crate::HealthServer`] does):
/// what is recorded before a recorder exists is lost.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = builder(CATALOGUE).build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first; the handle
            // then renders an empty page rather than taking the process down.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
            }
            describe(CATALOGUE);
            handle
        })
        .clone()
}

/// A builder with the buckets of every histogram in `catalogue`.
fn builder(catalogue: &[MetricDef]) -> PrometheusBuilder {
    let histograms = catalogue
        .iter()
        .filter(|m| m.kind == MetricKind::Histogram && !m.buckets.is_empty());
    let mut builder = Ok(PrometheusBuilder::new());
    for m in histograms {
        builder = builder
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(m.name.to_owned()), m.buckets));
    }
    // Refused only for empty buckets, filtered out above (and ruled out by
    // the catalogue's tests); histograms would then render as summaries.
    builder.unwrap_or_else(|err| {
        tracing::warn!(error = %err, "histogram buckets refused");
        PrometheusBuilder::new()
    })
}

/// Describes every entry to the installed recorder.
fn describe(catalogue: &[MetricDef]) {
    for m in catalogue {
        let unit = match m.unit {
            MetricUnit::Seconds => Some(metrics::Unit::Seconds),
            MetricUnit::Count | MetricUnit::Tokens => Some(metrics::Unit::Count),
            MetricUnit::Usd | MetricUnit::Ratio | MetricUnit::State => None,
        };
        match (m.kind, unit) {
            (MetricKind::Counter, Some(u)) => metrics::describe_counter!(m.name, u, m.help),
            (MetricKind::Counter, None) => metrics::describe_counter!(m.name, m.help),
            (MetricKind::Gauge, Some(u)) => metrics::describe_gauge!(m.name, u, m.help),
            (MetricKind::Gauge, None) => metrics::describe_gauge!(m.name, m.help),
            (MetricKind::Histogram, Some(u)) => metrics::describe_histogram!(m.name, u, m.help),
            (MetricKind::Histogram, None) => metrics::describe_histogram!(m.name, m.help),
        }
    }
}

#[cfg(test)]
mod tests {
    use sluice_core::metrics::LEDGER_RPC_DURATION;

    use super::*;

    #[test]
    fn histograms_render_the_catalogue_buckets() {
        let recorder = builder(CATALOGUE).build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            metrics::histogram!(LEDGER_RPC_DURATION.name, "method" => "Begin", "code" => "OK")
                .record(0.003);
        });
        let page = handle.render();
        assert!(
            page.contains(r#"sluice_ledger_rpc_duration_seconds_bucket{method="Begin",code="OK",le="0.005"} 1"#),
            "{page}"
        );
        assert!(!page.contains("quantile"), "{page}");
    }
}
