//! Constructors that keep the catalogue's entries short.

use super::{MetricDef, MetricKind, MetricUnit};

pub(super) const fn counter(
    name: &'static str,
    labels: &'static [&'static str],
    recorded_by: &'static str,
    help: &'static str,
) -> MetricDef {
    MetricDef {
        name,
        kind: MetricKind::Counter,
        unit: MetricUnit::Count,
        help,
        labels,
        buckets: &[],
        recorded_by,
    }
}

pub(super) const fn gauge(
    name: &'static str,
    unit: MetricUnit,
    labels: &'static [&'static str],
    recorded_by: &'static str,
    help: &'static str,
) -> MetricDef {
    MetricDef {
        name,
        kind: MetricKind::Gauge,
        unit,
        help,
        labels,
        buckets: &[],
        recorded_by,
    }
}

pub(super) const fn histogram(
    name: &'static str,
    unit: MetricUnit,
    labels: &'static [&'static str],
    buckets: &'static [f64],
    recorded_by: &'static str,
    help: &'static str,
) -> MetricDef {
    MetricDef {
        name,
        kind: MetricKind::Histogram,
        unit,
        help,
        labels,
        buckets,
        recorded_by,
    }
}
