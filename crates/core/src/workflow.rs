//! Workflow specs, declared in `workflows/<name>/workflow.toml`.
//!
//! The plumbing of a workflow is declared, not coded: which sources feed it,
//! how the model is asked, which rules the gate applies, which actions run
//! with which idempotency key and retry policy. Unknown fields are refused so
//! that a typo in a spec is an error at start-up, not a silently ignored rule.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::error::validate_name;

mod context;
mod owners;
mod ownership;

pub use context::{ContextKind, ContextSpec, ContextStage};
pub use owners::Owners;
pub use ownership::{EscalationSpec, OwnershipSpec, UNOWNED, WebhookTarget};

/// An absolute http(s) URL with a host, under `key` in errors. The full
/// parse happens where the URL is used; this catches a secret or a typo
/// pasted in its place.
fn validate_url(key: &str, url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let host = rest.and_then(|r| r.split(['/', '?', '#']).next());
    match host {
        Some(h) if !h.is_empty() && !url.contains(char::is_whitespace) => Ok(()),
        _ => Err(format!("{key} {url:?} is not an http(s) URL with a host")),
    }
}

/// One declared workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSpec {
    /// The workflow's name: a subject token.
    pub name: String,
    /// Human description.
    #[serde(default)]
    pub description: String,
    /// The sources whose events start this workflow.
    pub sources: Vec<String>,
    /// IANA timezone in which dates in the input are understood.
    pub timezone: String,
    /// Path of the contract JSON Schema, relative to the workflow folder.
    pub contract: PathBuf,
    /// Whether the effect cannot be undone (stricter gate thresholds apply).
    #[serde(default)]
    pub irreversible: bool,
    /// Template of the key that groups messages of one conversation (for
    /// clarifications), e.g. `{channel}:{sender}`.
    #[serde(default)]
    pub conversation_key: Option<String>,
    /// How the interpreter turns the event into a contract.
    pub interpret: InterpretSpec,
    /// The gate's thresholds and rules.
    pub gate: GateSpec,
    /// The actions, in saga order.
    pub actions: Vec<ActionSpec>,
    /// The confirmation sent after the actions.
    #[serde(default)]
    pub notify: Option<NotifySpec>,
    /// The review SLA in its older spelling; `[ownership] sla_s` is the
    /// current one (a spec may give one of the two).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewSpec>,
    /// Who answers for the workflow, its review SLA and escalation path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ownership: Option<OwnershipSpec>,
    /// What the gate looks up before it decides (`[[context]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<ContextSpec>,
}

/// `[review]`: the review SLA as first declared, before `[ownership]`
/// existed. Still read, so specs written for earlier releases keep working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewSpec {
    /// As `[ownership] sla_s`.
    pub sla_s: u32,
}

impl WorkflowSpec {
    /// Seconds within which a review item should be decided, if the
    /// workflow has an SLA (`[ownership] sla_s`, or `[review] sla_s`).
    pub fn review_sla_s(&self) -> Option<u32> {
        let declared = self.ownership.as_ref().and_then(|o| o.sla_s);
        declared.or_else(|| self.review.as_ref().map(|r| r.sla_s))
    }

    /// When a review item opened at `opened` is due, if the workflow has an
    /// SLA: past it the item is announced on
    /// `<prefix>.events.review_overdue.<workflow>`, counted in
    /// `sluice_review_overdue` and escalated to the owner.
    pub fn review_due(
        &self,
        opened: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        let sla = self.review_sla_s()?;
        Some(opened + chrono::Duration::seconds(i64::from(sla)))
    }

    /// The owning team, if declared.
    pub fn owner(&self) -> Option<&str> {
        self.ownership.as_ref().map(|o| o.owner.as_str())
    }
}

/// How the model is asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterpretSpec {
    /// The prompt file, relative to the workflow folder (`prompt.v1.md`).
    pub prompt: PathBuf,
    /// The prompt's declared version, recorded with every interpretation.
    pub prompt_version: String,
    /// The backend: `openai`, `rules` (the deterministic extractor) or `fake`.
    pub backend: String,
    /// The model name passed to the backend.
    #[serde(default)]
    pub model: Option<String>,
    /// The deterministic extractor used offline and as the fallback.
    #[serde(default)]
    pub fallback: Option<String>,
    /// Token ceiling per call.
    #[serde(default = "defaults::max_tokens")]
    pub max_tokens: u32,
    /// Time limit per call, in milliseconds.
    #[serde(default = "defaults::timeout_ms")]
    pub timeout_ms: u64,
    /// Cost ceiling per execution, in US dollars.
    #[serde(default)]
    pub max_cost_usd: Option<f64>,
}

/// The gate's thresholds and rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSpec {
    /// Minimum confidence for an automatic action.
    pub auto_threshold: f64,
    /// Minimum confidence for review; below it the execution is an exception.
    pub review_threshold: f64,
    /// The actions the model may propose; anything else is refused.
    pub allowed_actions: Vec<String>,
    /// Named deterministic rules with their parameters.
    #[serde(default)]
    pub rules: BTreeMap<String, toml::Value>,
    /// What to do while the workflow's kill switch is off.
    #[serde(default)]
    pub when_switched_off: SwitchedOff,
    /// Trip the workflow's kill switch on bad rates; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaker: Option<BreakerSpec>,
    /// Watch the model's output per field for drift; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftSpec>,
    /// The fraction of decisions that would run without a person which go to
    /// review anyway, as spot checks (sampled by execution id, so a
    /// redelivery makes the same choice). 0 turns spot checks off.
    #[serde(default)]
    pub spot_check_rate: f64,
}

/// The output drift monitor of a workflow: per watched field, the rates of
/// empty values, low confidence and schema failures over a sliding window,
/// compared with the rates of a healthy workflow (e.g. measured by
/// `sluice eval`). A rate above its baseline by more than `max_increase`
/// raises `sluice_drift_alarm` and, when the workflow declares a breaker,
/// trips it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftSpec {
    /// The window, in seconds.
    #[serde(default = "BreakerSpec::default_window_s")]
    pub window_s: u32,
    /// No alarm on fewer outputs than this in the window.
    #[serde(default = "BreakerSpec::default_min_samples")]
    pub min_samples: u64,
    /// The contract fields watched.
    pub fields: Vec<String>,
    /// A field's confidence below this counts as low; the auto threshold
    /// when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_confidence_below: Option<f64>,
    /// How far above its baseline a rate may go before the alarm.
    #[serde(default = "DriftSpec::default_max_increase")]
    pub max_increase: f64,
    /// The healthy rates of every watched field.
    #[serde(default)]
    pub baseline: DriftRates,
    /// Healthy rates of particular fields, over `baseline`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub field_baseline: BTreeMap<String, DriftRates>,
}

impl DriftSpec {
    const fn default_max_increase() -> f64 {
        0.2
    }

    /// The baseline of `field` for `signal`: the field's own if given, else
    /// the workflow's, else 0.
    pub fn baseline_of(&self, field: &str, signal: DriftSignal) -> f64 {
        self.field_baseline
            .get(field)
            .and_then(|r| r.get(signal))
            .or_else(|| self.baseline.get(signal))
            .unwrap_or(0.0)
    }
}

/// What the drift monitor counts, per field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DriftSignal {
    /// The field is missing, null or an empty string.
    Empty,
    /// The field's confidence is below the limit.
    LowConfidence,
    /// The primary backend's answer failed the schema on this field.
    SchemaFailure,
}

impl DriftSignal {
    /// Every signal, in reporting order.
    pub const ALL: [DriftSignal; 3] = [Self::Empty, Self::LowConfidence, Self::SchemaFailure];

    /// The metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::LowConfidence => "low_confidence",
            Self::SchemaFailure => "schema_failure",
        }
    }
}

/// Rates of the drift signals; absent ones fall back (see
/// [`DriftSpec::baseline_of`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftRates {
    /// Of empty values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty: Option<f64>,
    /// Of low confidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_confidence: Option<f64>,
    /// Of schema failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_failure: Option<f64>,
}

impl DriftRates {
    /// The rate of `signal`, if given.
    pub const fn get(&self, signal: DriftSignal) -> Option<f64> {
        match signal {
            DriftSignal::Empty => self.empty,
            DriftSignal::LowConfidence => self.low_confidence,
            DriftSignal::SchemaFailure => self.schema_failure,
        }
    }
}

/// A breaker: turns the workflow's switch off when a rate over a sliding,
/// fleet-wide window (computed by the ledger) passes its limit. Each limit is
/// optional; only the ones given are watched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerSpec {
    /// The window, in seconds.
    #[serde(default = "BreakerSpec::default_window_s")]
    pub window_s: u32,
    /// No rate counts on fewer samples than this in the window.
    #[serde(default = "BreakerSpec::default_min_samples")]
    pub min_samples: u64,
    /// Trip when more than this fraction of actions failed (dead-lettered,
    /// unknown outcome, stopped for review by the executor).
    #[serde(default)]
    pub max_failure_rate: Option<f64>,
    /// Trip when more than this fraction of gate decisions were below the
    /// auto threshold.
    #[serde(default)]
    pub max_low_confidence_rate: Option<f64>,
    /// Trip when reviewers rejected more than this fraction of decided items.
    #[serde(default)]
    pub max_rejection_rate: Option<f64>,
    /// Go half-open this many seconds after a trip, letting `canaries` items
    /// through; absent, a tripped switch stays off until an operator turns
    /// it on.
    #[serde(default)]
    pub half_open_after_s: Option<u32>,
    /// How many items a half-open switch lets through.
    #[serde(default = "BreakerSpec::default_canaries")]
    pub canaries: u32,
}

impl BreakerSpec {
    const fn default_window_s() -> u32 {
        300
    }

    const fn default_min_samples() -> u64 {
        20
    }

    const fn default_canaries() -> u32 {
        3
    }
}

/// What happens to a workflow's items while its kill switch is off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchedOff {
    /// Pause the consumer: items wait in the stream, nothing nak-loops.
    #[default]
    Pause,
    /// Send items to human review.
    Review,
}

/// One declared side effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionSpec {
    /// The action's name: a subject token.
    pub name: String,
    /// The connector kind: `http`, `nats` or `postgres`.
    pub connector: String,
    /// Template of the idempotency key over the validated contract, e.g.
    /// `reservation:{channel}:{message_id}`.
    pub idempotency_key: String,
    /// Retry policy for temporary failures.
    #[serde(default)]
    pub retry: RetryPolicy,
    /// What to do when the outcome of an attempt is unknown.
    #[serde(default)]
    pub on_ambiguous: AmbiguityPolicy,
    /// How the effect is undone, if it can be: `"revert"` has the connector
    /// put back what it kept (a `postgres` update its previous values, an
    /// insert removes its row). Compensations run under `<key>:compensate`,
    /// on `sluice executions revert` or when a later action of the saga fails
    /// for good.
    #[serde(default)]
    pub compensation: Option<String>,
    /// How the outcome is checked after the effect: the target is read back
    /// by the effect's external id and the named fields compared with what
    /// was asked. A difference stops the execution for review.
    #[serde(default)]
    pub verify: Option<VerifySpec>,
    /// Connector settings (URL, statement, subject…), checked by the connector.
    #[serde(default)]
    pub settings: BTreeMap<String, toml::Value>,
}

/// An action's outcome check: `[actions.verify]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySpec {
    /// The request fields that must read back as they were sent
    /// (`party_size`, `date`…).
    pub fields: Vec<String>,
}

/// The compensation that has the connector undo its own effect.
pub const COMPENSATION_REVERT: &str = "revert";

/// Exponential backoff with full jitter, bounded by `max_attempts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The first delay, in milliseconds.
    pub initial_delay_ms: u64,
    /// The largest delay, in milliseconds.
    pub max_delay_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_delay_ms: 500,
            max_delay_ms: 60_000,
        }
    }
}

impl RetryPolicy {
    /// The first delay.
    pub fn initial_delay(&self) -> Duration {
        Duration::from_millis(self.initial_delay_ms)
    }

    /// The largest delay.
    pub fn max_delay(&self) -> Duration {
        Duration::from_millis(self.max_delay_ms)
    }
}

/// What the executor does when it cannot know whether an effect happened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmbiguityPolicy {
    /// Retry with the same key: only for targets that honour idempotency keys.
    RetrySameKey,
    /// Ask the target's status endpoint by key.
    Probe,
    /// Stop and mark the execution `NEEDS_REVIEW` with what is known.
    #[default]
    Review,
}

/// The confirmation sent after the actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySpec {
    /// The channel connector.
    pub channel: String,
    /// The message template over the contract and the action results.
    pub template: String,
}

mod defaults {
    pub(super) const fn max_tokens() -> u32 {
        1024
    }
    pub(super) const fn timeout_ms() -> u64 {
        20_000
    }
}

impl WorkflowSpec {
    /// Reads and validates `<dir>/workflow.toml`.
    pub fn load(dir: &Path) -> Result<Self, Error> {
        let path = dir.join("workflow.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::WorkflowInvalid {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates a spec; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, Error> {
        let spec: Self = toml::from_str(text).map_err(|source| Error::WorkflowParse {
            path: origin.to_owned(),
            source,
        })?;
        spec.validate().map_err(|reason| Error::WorkflowInvalid {
            path: origin.to_owned(),
            reason,
        })?;
        Ok(spec)
    }

    /// Loads every `<root>/<name>/workflow.toml`, sorted by name, and checks
    /// that each folder's name matches the workflow it declares.
    pub fn load_all(root: &Path) -> Result<Vec<Self>, Error> {
        let unreadable = |e: std::io::Error| Error::WorkflowInvalid {
            path: root.display().to_string(),
            reason: e.to_string(),
        };
        let mut specs = Vec::new();
        for entry in std::fs::read_dir(root).map_err(unreadable)? {
            let dir = entry.map_err(unreadable)?.path();
            if !dir.join("workflow.toml").is_file() {
                continue;
            }
            let spec = Self::load(&dir)?;
            if dir.file_name().and_then(|n| n.to_str()) != Some(spec.name.as_str()) {
                return Err(Error::WorkflowInvalid {
                    path: dir.display().to_string(),
                    reason: format!("folder name must equal the workflow name {:?}", spec.name),
                });
            }
            specs.push(spec);
        }
        specs.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(specs)
    }

    fn validate(&self) -> Result<(), String> {
        let name_err = |e: Error| e.to_string();
        validate_name("workflow", &self.name).map_err(name_err)?;
        if self.sources.is_empty() {
            return Err("at least one source is required".into());
        }
        for source in &self.sources {
            validate_name("source", source).map_err(name_err)?;
        }
        let g = &self.gate;
        let unit = 0.0..=1.0;
        if !unit.contains(&g.auto_threshold) || !unit.contains(&g.review_threshold) {
            return Err("gate thresholds must lie between 0 and 1".into());
        }
        if g.review_threshold > g.auto_threshold {
            return Err("gate.review_threshold must not exceed gate.auto_threshold".into());
        }
        if !unit.contains(&g.spot_check_rate) {
            return Err("gate.spot_check_rate must lie between 0 and 1".into());
        }
        if let Some(drift) = &g.drift {
            validate_drift(drift)?;
        }
        for (i, context) in self.context.iter().enumerate() {
            context.validate()?;
            if self.context[..i].iter().any(|c| c.name == context.name) {
                return Err(format!("context {:?} is declared twice", context.name));
            }
        }
        if let Some(ownership) = &self.ownership {
            ownership.validate()?;
            if ownership.sla_s.is_some() && self.review.is_some() {
                return Err(
                    "the review SLA is declared twice: keep `[ownership] sla_s` and \
                     remove the older `[review] sla_s`"
                        .into(),
                );
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for action in &self.actions {
            validate_name("action", &action.name).map_err(name_err)?;
            if !seen.insert(action.name.as_str()) {
                return Err(format!("action {:?} is declared twice", action.name));
            }
            if action.idempotency_key.trim().is_empty() {
                return Err(format!("action {:?} needs an idempotency_key", action.name));
            }
            if action.retry.max_attempts == 0 {
                return Err(format!(
                    "action {:?}: retry.max_attempts must be ≥ 1",
                    action.name
                ));
            }
            if action.retry.initial_delay_ms > action.retry.max_delay_ms {
                return Err(format!(
                    "action {:?}: retry.initial_delay_ms exceeds retry.max_delay_ms",
                    action.name
                ));
            }
        }
        for allowed in &g.allowed_actions {
            if !seen.contains(allowed.as_str()) {
                return Err(format!(
                    "gate.allowed_actions names unknown action {allowed:?}"
                ));
            }
        }
        for action in &self.actions {
            if let Some(verify) = &action.verify {
                if verify.fields.is_empty() {
                    return Err(format!(
                        "action {:?}: verify.fields must name at least one field",
                        action.name
                    ));
                }
                if action.connector != "http" {
                    return Err(format!(
                        "action {:?}: verification reads the target back over HTTP; \
                         the {} connector cannot verify yet",
                        action.name, action.connector
                    ));
                }
            }
            if let Some(compensation) = &action.compensation
                && compensation != COMPENSATION_REVERT
            {
                return Err(format!(
                    "action {:?}: compensation {compensation:?} is not known; the only one is \
                     {COMPENSATION_REVERT:?} (the connector puts back what it kept)",
                    action.name
                ));
            }
        }
        Ok(())
    }
}

fn validate_drift(drift: &DriftSpec) -> Result<(), String> {
    if drift.fields.is_empty() {
        return Err("gate.drift.fields must name at least one contract field".into());
    }
    let unit = 0.0..=1.0;
    let rates = std::iter::once(&drift.baseline).chain(drift.field_baseline.values());
    let given = rates.flat_map(|r| DriftSignal::ALL.map(|s| r.get(s)).into_iter().flatten());
    if !given.chain([drift.max_increase]).all(|r| unit.contains(&r))
        || drift
            .low_confidence_below
            .is_some_and(|l| !unit.contains(&l))
    {
        return Err("gate.drift rates and limits must lie between 0 and 1".into());
    }
    if drift.window_s == 0 {
        return Err("gate.drift.window_s must be at least 1".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reservation_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows/reservation")
    }

    #[test]
    fn parses_the_shipped_reservation_workflow() {
        let spec = WorkflowSpec::load(&reservation_dir()).expect("reservation spec");
        assert_eq!(spec.name, "reservation");
        assert_eq!(spec.actions.len(), 1);
        assert_eq!(spec.actions[0].on_ambiguous, AmbiguityPolicy::Review);
        insta::assert_json_snapshot!(spec);
    }

    #[test]
    fn parses_the_shipped_crm_workflow() {
        let dir = reservation_dir().join("../crm-enrichment");
        let spec = WorkflowSpec::load(&dir).expect("crm-enrichment spec");
        let names: Vec<&str> = spec.actions.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["stage_enrichment", "update_account"], "saga order");
        assert!(
            spec.notify.is_none(),
            "nobody is messaged about an enrichment"
        );
        assert!(
            spec.actions
                .iter()
                .all(|a| a.compensation.as_deref() == Some("revert"))
        );
        insta::assert_json_snapshot!(spec);
    }

    #[test]
    fn loads_every_shipped_workflow() {
        let root = reservation_dir().join("..");
        let specs = WorkflowSpec::load_all(&root).expect("workflows/");
        assert!(specs.iter().any(|s| s.name == "reservation"));
        assert!(specs.iter().any(|s| s.name == "crm-enrichment"));
        assert!(WorkflowSpec::load_all(Path::new("/nonexistent/workflows")).is_err());
    }

    #[test]
    fn rejects_unknown_fields_and_broken_rules() {
        let good = std::fs::read_to_string(reservation_dir().join("workflow.toml")).expect("read");
        let typo = good.replace("auto_threshold", "auto_treshold");
        let err = WorkflowSpec::parse(&typo, "typo.toml").expect_err("typo");
        assert!(err.to_string().contains("typo.toml"), "{err}");

        let inverted = good.replace("review_threshold = 0.5", "review_threshold = 0.99");
        let err = WorkflowSpec::parse(&inverted, "inverted.toml").expect_err("inverted");
        assert!(err.to_string().contains("must not exceed"), "{err}");

        let bad_name = good.replace("name = \"reservation\"", "name = \"reser.vation\"");
        assert!(WorkflowSpec::parse(&bad_name, "x").is_err());
    }

    #[test]
    fn only_known_compensations_are_accepted() {
        let good = std::fs::read_to_string(reservation_dir().join("workflow.toml")).expect("read");
        let with = |c: &str| {
            good.replace(
                "on_ambiguous = \"review\"",
                &format!("on_ambiguous = \"review\"\ncompensation = \"{c}\""),
            )
        };
        let spec = WorkflowSpec::parse(&with("revert"), "revert.toml").expect("revert");
        assert_eq!(spec.actions[0].compensation.as_deref(), Some("revert"));
        let err = WorkflowSpec::parse(&with("refund"), "refund.toml").expect_err("refund");
        assert!(
            err.to_string().contains("create_booking") && err.to_string().contains("refund"),
            "{err}"
        );
    }
}
