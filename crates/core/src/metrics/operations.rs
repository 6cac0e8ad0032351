//! Queues, the ledger, the review backlog, breakers and switches.

use super::define::{counter, gauge, histogram};
use super::{MetricDef, MetricUnit};

/// Seconds from a millisecond to ten: RPC latency.
const RPC_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Writes per statement, from one to the group-commit limit.
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0];

// Queues and dead letters.

/// Open dead letters.
pub const DEAD_LETTER_DEPTH: MetricDef = gauge(
    "sluice_dead_letter_depth",
    MetricUnit::Count,
    &["workflow", "stage", "owner"],
    "deadletter",
    "Open dead letters (neither replayed nor discarded) in the ledger's index; workflow is the source for ingest dead letters, owner the workflow's declared team (unowned when none is).",
);
/// New dead-letter entries.
pub const DEAD_LETTERS: MetricDef = counter(
    "sluice_dead_letters_total",
    &["workflow", "stage", "class"],
    "deadletter",
    "Dead letters indexed for the first time, by failure class (temporary, permanent, unknown).",
);
/// Work waiting in a consumer.
pub const CONSUMER_PENDING: MetricDef = gauge(
    "sluice_consumer_pending",
    MetricUnit::Count,
    &["stream", "consumer"],
    "deadletter",
    "Messages a durable consumer has not finished: not yet delivered plus delivered and not acknowledged.",
);

// The ledger.

/// Ledger RPC latency.
pub const LEDGER_RPC_DURATION: MetricDef = histogram(
    "sluice_ledger_rpc_duration_seconds",
    MetricUnit::Seconds,
    &["method", "code"],
    RPC_BUCKETS,
    "ledger",
    "Time the ledger took to answer one RPC, by method and gRPC status code.",
);

/// Writes per group-committed statement.
pub const LEDGER_GROUP_COMMIT_SIZE: MetricDef = histogram(
    "sluice_ledger_group_commit_size",
    MetricUnit::Count,
    &["op"],
    BATCH_BUCKETS,
    "ledger",
    "Calls written by one group-committed statement, by operation (begin, mark_attempted, complete, transition): near 1 when the ledger is idle, larger under concurrent load.",
);

// Human review.

/// Open review items.
pub const REVIEW_BACKLOG: MetricDef = gauge(
    "sluice_review_backlog",
    MetricUnit::Count,
    &["workflow", "owner"],
    "deadletter",
    "Open review items.",
);
/// Age of the oldest open review item.
pub const REVIEW_BACKLOG_AGE: MetricDef = gauge(
    "sluice_review_backlog_age_seconds",
    MetricUnit::Seconds,
    &["workflow", "owner"],
    "deadletter",
    "Age of the oldest open review item (0 when none is open).",
);
/// Open review items past their SLA.
pub const REVIEW_OVERDUE: MetricDef = gauge(
    "sluice_review_overdue",
    MetricUnit::Count,
    &["workflow", "owner"],
    "deadletter",
    "Open review items past their SLA now.",
);
/// Review items that went past their SLA.
pub const REVIEW_SLA_BREACHES: MetricDef = counter(
    "sluice_review_sla_breaches_total",
    &["workflow", "owner"],
    "deadletter",
    "Review items announced as past their SLA (once per item).",
);
/// Who owns each workflow, for joining onto metrics without the label.
pub const WORKFLOW_OWNER: MetricDef = gauge(
    "sluice_workflow_owner",
    MetricUnit::Count,
    &["workflow", "owner"],
    "deadletter",
    "1 per declared workflow, labelled with its owner: alerts on metrics without an owner label join on it (`* on (workflow) group_left (owner)`).",
);
/// Review items escalated to their owner.
pub const REVIEW_ESCALATIONS: MetricDef = counter(
    "sluice_review_escalations_total",
    &["workflow", "owner"],
    "deadletter",
    "Review items past their SLA escalated to their workflow's owner on <prefix>.events.escalated.<workflow> (once per item).",
);
/// How escalation webhooks ended.
pub const ESCALATION_WEBHOOKS: MetricDef = counter(
    "sluice_escalation_webhooks_total",
    &["workflow", "owner", "result"],
    "deadletter",
    "Escalation webhooks that ended, by result: delivered, or failed (given up after the retries or refused by the receiver; recorded in the ledger, never tried again).",
);

// Breakers and kill switches.

/// Breaker trips.
pub const BREAKER_TRIPS: MetricDef = counter(
    "sluice_breaker_trips_total",
    &["workflow", "rate"],
    "gate",
    "Breaker trips (the workflow's switch turned off), by the rate that passed its limit.",
);
/// Trips whose audit row could not be written.
pub const BREAKER_UNAUDITED: MetricDef = counter(
    "sluice_breaker_unaudited_total",
    &["workflow"],
    "gate",
    "Breaker switch changes whose audit record the ledger did not take.",
);
/// The rates a breaker watches.
pub const BREAKER_RATE: MetricDef = gauge(
    "sluice_breaker_rate",
    MetricUnit::Ratio,
    &["workflow", "rate"],
    "gate",
    "The fleet-wide rate a breaker compares with its limit (failure, low_confidence, rejection).",
);
/// Where a breaker-guarded switch stands.
pub const BREAKER_STATE: MetricDef = gauge(
    "sluice_breaker_state",
    MetricUnit::State,
    &["workflow"],
    "gate",
    "The switch of a workflow with a breaker: 0 on, 1 half-open, 2 off.",
);
/// Canaries let through a half-open switch.
pub const SWITCH_CANARIES: MetricDef = counter(
    "sluice_switch_canaries_total",
    &["switch"],
    "gate",
    "Items let through a half-open switch as canaries.",
);
