//! What happens to executions, and the model behind them.

use super::define::{counter, gauge, histogram};
use super::{MetricDef, MetricUnit};

/// Seconds from minutes to a day: how long executions take to resolve.
const RESOLUTION_BUCKETS: &[f64] = &[
    0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0,
];
/// US dollars per execution; the first bucket holds the free (deterministic) ones.
const COST_BUCKETS: &[f64] = &[
    0.0, 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];
/// Confidence, with the usual review (0.5) and auto (0.85) thresholds as bounds.
const CONFIDENCE_BUCKETS: &[f64] = &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0];

// Outcomes.

/// Executions that reached a terminal state, counted once when the ledger
/// applies the terminal transition. Completion rate =
/// `outcome="completed"` / all.
pub const EXECUTIONS_FINISHED: MetricDef = counter(
    "sluice_executions_finished_total",
    &["workflow", "outcome"],
    "ledger",
    "Executions that reached a terminal state; outcome is the state in lower case (completed, closed, clarification_requested, escalated, notify_failed, compensated, discarded). A compensated execution counts as completed first.",
);
/// From receipt to the terminal state, by the database clock.
pub const TIME_TO_RESOLUTION: MetricDef = histogram(
    "sluice_time_to_resolution_seconds",
    MetricUnit::Seconds,
    &["workflow", "outcome"],
    RESOLUTION_BUCKETS,
    "ledger",
    "Time from an execution's receipt to its terminal state (database clock).",
);
/// Duplicates stopped before they could repeat work.
pub const PREVENTED_DUPLICATES: MetricDef = counter(
    "sluice_prevented_duplicates_total",
    &["layer", "stage"],
    "ingest, every stage publisher, executor, notifier",
    "Duplicates stopped: layer=message when an event was seen before or JetStream dropped a publish by its Nats-Msg-Id; layer=ledger when Begin answered COMPLETED or IN_PROGRESS; stage is where the duplicate was headed.",
);
/// Retries of a call to an integration.
pub const RETRIES: MetricDef = counter(
    "sluice_retries_total",
    &["stage", "workflow", "integration"],
    "executor, notifier",
    "Retries after a temporary failure, in process or by redelivery; integration is the action (executor) or the channel (notifier).",
);
/// Items handed to a person.
pub const ESCALATIONS: MetricDef = counter(
    "sluice_escalations_total",
    &["stage", "workflow", "reason"],
    "interpreter, gate, executor, notifier, ledger",
    "Executions handed to a person, counted when the review item is opened (or a reviewer escalates); reason is the rule, failure or decision behind it.",
);
/// Decided review items.
pub const REVIEW_DECISIONS: MetricDef = counter(
    "sluice_review_decisions_total",
    &["workflow", "decision"],
    "ledger",
    "Review items decided: approve, reject or escalate.",
);
/// Approvals that changed fields.
pub const MANUAL_CORRECTIONS: MetricDef = counter(
    "sluice_manual_corrections_total",
    &["workflow"],
    "ledger",
    "Approvals with corrected fields (manually corrected actions).",
);
/// What the gate decided.
pub const GATE_DECISIONS: MetricDef = counter(
    "sluice_gate_decisions_total",
    &["workflow", "route"],
    "gate",
    "Gate decisions by route (auto, review, exception, clarify, reject).",
);
/// Rules that did not pass.
pub const GUARDRAIL_ACTIVATIONS: MetricDef = counter(
    "sluice_guardrail_activations_total",
    &["workflow", "rule"],
    "gate",
    "Gate rules that did not pass, one per rule and decision.",
);
/// Action runs by their result.
pub const EXECUTOR_ACTIONS: MetricDef = counter(
    "sluice_executor_actions_total",
    &["workflow", "action", "step"],
    "executor",
    "Action runs by result (done, prevented_duplicate, in_progress, temporary, unknown, permanent, crashed).",
);
/// Outcome verifications by their result.
pub const VERIFICATIONS: MetricDef = counter(
    "sluice_verifications_total",
    &["workflow", "action", "result"],
    "executor",
    "Effects read back from the target by result (held, differs, unreadable); a difference stops the execution for review.",
);
/// Context lookups by how they were answered.
pub const CONTEXT_LOOKUPS: MetricDef = counter(
    "sluice_context_lookups_total",
    &["workflow", "context", "result"],
    "gate",
    "Context provider lookups before a gate decision by result (fetched, cached, stale, unavailable); unavailable stops the execution for review.",
);
/// Notifications by their result.
pub const NOTIFICATIONS: MetricDef = counter(
    "sluice_notifications_total",
    &["workflow", "result"],
    "notifier",
    "Notification sends by result (sent, retry, failed).",
);

// The model and the quality of its output.

/// Validated interpretations.
pub const INTERPRETATIONS: MetricDef = counter(
    "sluice_interpretations_total",
    &["workflow", "backend"],
    "interpreter",
    "Validated interpretations (the denominator of the empty-field and schema-failure rates).",
);
/// Tokens spent.
pub const MODEL_TOKENS: MetricDef = counter(
    "sluice_model_tokens_total",
    &["workflow", "backend", "kind"],
    "interpreter",
    "Model tokens spent on interpretations (the repair attempt included), kind=prompt or completion.",
);
/// Cost per execution.
pub const EXECUTION_COST: MetricDef = histogram(
    "sluice_execution_cost_usd",
    MetricUnit::Usd,
    &["workflow"],
    COST_BUCKETS,
    "interpreter",
    "Model cost of one execution (tokens × configured prices, repair included); 0 for deterministic backends.",
);
/// Confidence distribution.
pub const CONFIDENCE: MetricDef = histogram(
    "sluice_confidence",
    MetricUnit::Ratio,
    &["workflow"],
    CONFIDENCE_BUCKETS,
    "interpreter",
    "Overall confidence of validated interpretations.",
);
/// Fields the interpretation left empty.
pub const EMPTY_FIELDS: MetricDef = counter(
    "sluice_empty_fields_total",
    &["workflow", "field"],
    "interpreter",
    "Contract fields a validated interpretation left empty; rate = this / sluice_interpretations_total.",
);
/// Backend answers rejected by the contract schema.
pub const SCHEMA_FAILURES: MetricDef = counter(
    "sluice_schema_failures_total",
    &["workflow", "field"],
    "interpreter",
    "Backend answers the contract schema rejected, per failing field (_answer when it was no JSON object); rate = this / sluice_interpretations_total.",
);
/// Output drift per field and signal.
pub const DRIFT_RATE: MetricDef = gauge(
    "sluice_drift_rate",
    MetricUnit::Ratio,
    &["workflow", "field", "signal"],
    "gate",
    "Recent rate of a drift signal (empty, low_confidence, schema_failure) per field.",
);
/// Whether a drift signal is past its limit.
pub const DRIFT_ALARM: MetricDef = gauge(
    "sluice_drift_alarm",
    MetricUnit::State,
    &["workflow", "field", "signal"],
    "gate",
    "1 while a drift signal's rate is past its limit, else 0.",
);
/// Sampled executions for a person to check.
pub const SPOT_CHECKS: MetricDef = counter(
    "sluice_spot_checks_total",
    &["workflow"],
    "gate",
    "Automatically decided executions sampled for a person's spot check.",
);
