//! The metrics catalogue: every Prometheus metric a Sluice process exports,
//! declared once.
//!
//! Code records metrics through the constants here (`metrics::counter!(
//! metrics::PREVENTED_DUPLICATES.name, …)`), never through string literals;
//! `sluice-runtime` describes every entry to the recorder at start-up and
//! configures histogram buckets from it; the README's metrics reference is
//! rendered from it ([`reference_table`]); and the dashboards and alert rules
//! under `deploy/` may only name metrics listed here. Tests in this crate
//! hold all four to the catalogue.
//!
//! This module is pure data: it depends on no metrics library.

mod define;
mod operations;
mod pipeline;
#[cfg(test)]
mod tests;

pub use operations::*;
pub use pipeline::*;

/// Every metric, in the order the reference lists them.
pub const CATALOGUE: &[MetricDef] = &[
    EXECUTIONS_FINISHED,
    TIME_TO_RESOLUTION,
    PREVENTED_DUPLICATES,
    RETRIES,
    ESCALATIONS,
    REVIEW_DECISIONS,
    MANUAL_CORRECTIONS,
    GATE_DECISIONS,
    GUARDRAIL_ACTIVATIONS,
    EXECUTOR_ACTIONS,
    VERIFICATIONS,
    CONTEXT_LOOKUPS,
    NOTIFICATIONS,
    INTERPRETATIONS,
    MODEL_TOKENS,
    EXECUTION_COST,
    CONFIDENCE,
    EMPTY_FIELDS,
    SCHEMA_FAILURES,
    DRIFT_RATE,
    DRIFT_ALARM,
    SPOT_CHECKS,
    DEAD_LETTER_DEPTH,
    DEAD_LETTERS,
    CONSUMER_PENDING,
    LEDGER_RPC_DURATION,
    LEDGER_GROUP_COMMIT_SIZE,
    REVIEW_BACKLOG,
    REVIEW_BACKLOG_AGE,
    REVIEW_OVERDUE,
    REVIEW_SLA_BREACHES,
    REVIEW_ESCALATIONS,
    WORKFLOW_OWNER,
    ESCALATION_WEBHOOKS,
    BREAKER_TRIPS,
    BREAKER_UNAUDITED,
    BREAKER_RATE,
    BREAKER_STATE,
    SWITCH_CANARIES,
];

/// What kind of Prometheus metric an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricKind {
    /// Only ever goes up (`_total`).
    Counter,
    /// A value sampled now.
    Gauge,
    /// A distribution over declared buckets.
    Histogram,
}

impl MetricKind {
    /// The Prometheus `# TYPE` name.
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// The unit of an entry's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricUnit {
    /// A number of things (events, items, messages).
    Count,
    /// Seconds.
    Seconds,
    /// US dollars, at the configured model prices.
    Usd,
    /// Model tokens.
    Tokens,
    /// A fraction between 0 and 1.
    Ratio,
    /// A state encoded as a number (see the help text).
    State,
}

impl MetricUnit {
    /// The unit's name in the metrics reference.
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricUnit::Count => "count",
            MetricUnit::Seconds => "seconds",
            MetricUnit::Usd => "USD",
            MetricUnit::Tokens => "tokens",
            MetricUnit::Ratio => "ratio",
            MetricUnit::State => "state",
        }
    }
}

/// One metric of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricDef {
    /// The exported name (`sluice_…`).
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: MetricKind,
    /// The unit of its values.
    pub unit: MetricUnit,
    /// What it means, for `# HELP` and the reference.
    pub help: &'static str,
    /// Its label names, in the order the reference lists them. Labels never
    /// carry personal data: workflows, stages, rules, fields, not values.
    pub labels: &'static [&'static str],
    /// Upper bounds of a histogram's buckets, ascending; empty otherwise.
    pub buckets: &'static [f64],
    /// Which service records it.
    pub recorded_by: &'static str,
}

/// The entry named `name`, if the catalogue has one.
pub fn find(name: &str) -> Option<&'static MetricDef> {
    CATALOGUE.iter().find(|m| m.name == name)
}

/// The entry a Prometheus series name belongs to: `name` itself, or the
/// histogram `name` of a `name_bucket`, `name_sum` or `name_count` series.
pub fn find_series(series: &str) -> Option<&'static MetricDef> {
    find(series).or_else(|| {
        ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
            let base = series.strip_suffix(suffix)?;
            find(base).filter(|m| m.kind == MetricKind::Histogram)
        })
    })
}

/// The README's metrics reference: a Markdown table, one row per entry.
pub fn reference_table() -> String {
    let mut table = String::from(
        "| metric | type | labels | unit | recorded by | meaning |\n|---|---|---|---|---|---|\n",
    );
    for m in CATALOGUE {
        let labels = if m.labels.is_empty() {
            "—".to_owned()
        } else {
            m.labels
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        table.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            m.name,
            m.kind.as_str(),
            labels,
            m.unit.as_str(),
            m.recorded_by,
            m.help.replace('|', "\\|"),
        ));
    }
    table
}
