//! What each stage adds to the envelope on its way through the pipeline.
//!
//! Stages never rewrite what an earlier stage recorded: the interpreter adds
//! an [`Interpretation`], the gate a [`GateDecision`], the executor one
//! [`ActionRecord`] per action. A replay, a reviewer or an audit can therefore
//! always see the original payload next to every step's result.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The interpreter's validated reading of an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interpretation {
    /// The contract, valid against the workflow's contract schema.
    pub contract: serde_json::Value,
    /// Overall confidence, 0–1.
    pub confidence: f64,
    /// Confidence per contract field, 0–1, where the backend knows it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub field_confidence: BTreeMap<String, f64>,
    /// The action the backend proposes; the gate decides whether it may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_action: Option<String>,
    /// Which backend produced it (`openai`, `rules`, `fake`).
    pub backend: String,
    /// The model name, for model backends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The prompt's declared version.
    pub prompt_version: String,
    /// SHA-256 of the rendered prompt template file, hex.
    pub prompt_sha256: String,
    /// Token usage and cost, for model backends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// How long the backend took, in milliseconds.
    pub latency_ms: u64,
    /// Why the deterministic fallback was used instead of the model, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
    /// Contract fields that were carried over from an earlier message of the
    /// same conversation (a clarification's answer completes them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub carried_over: Vec<String>,
    /// Contract fields the primary backend's first answer got wrong (failed
    /// the schema), even when a repair or the fallback then fixed them: what
    /// the drift monitor counts as schema failures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schema_failures: Vec<String>,
    /// The context the model was shown (interpreter-stage providers): what
    /// was fetched, from where and how fresh it was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<ContextUse>,
}

/// Tokens and cost of one model call (or the sum over an execution).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub prompt_tokens: u32,
    /// Completion tokens.
    pub completion_tokens: u32,
    /// Cost in US dollars at the configured prices.
    pub cost_usd: f64,
}

/// What the gate decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Run the action without a person.
    Auto,
    /// A person must approve first.
    Review,
    /// Ask the user for the missing details; terminal for this execution.
    Clarify,
    /// Refused by a rule; closed.
    Reject,
}

/// The gate's decision and the rules behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateDecision {
    /// The verdict.
    pub verdict: Verdict,
    /// The action allowed (for `auto` and `review`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Every rule evaluated, in order, with its result.
    pub rules: Vec<RuleResult>,
    /// Contract fields that are missing (for `clarify`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// One line for people: why this verdict.
    pub summary: String,
    /// What the user may pick instead (for `clarify`; the nearest free
    /// times when the requested slot is full), from a context check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offers: Vec<String>,
    /// The context the decision was made on: what was fetched, from where
    /// and how fresh it was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<ContextUse>,
}

/// One context provider's answer as a decision used it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextUse {
    /// The provider (`[[context]] name`).
    pub name: String,
    /// Where it came from: the URL without its query, or `postgres:<name>`
    /// (never credentials or personal data).
    pub from: String,
    /// When the provider answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetched_at: Option<chrono::DateTime<chrono::Utc>>,
    /// How old the answer was when used, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_s: Option<u64>,
    /// Whether it came from the cache without asking.
    #[serde(default)]
    pub cached: bool,
    /// Whether the provider failed and an older answer was used instead.
    #[serde(default)]
    pub stale: bool,
    /// The answer, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// Why there is no usable answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One deterministic rule's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleResult {
    /// The rule's name (`required`, `party_size`, `opening_hours`…).
    pub rule: String,
    /// Whether it passed.
    pub passed: bool,
    /// What it found, for people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl ContextUse {
    /// The answer to decide on, or why there is none.
    pub fn answer(&self) -> Result<&serde_json::Value, &str> {
        self.value
            .as_ref()
            .ok_or_else(|| self.error.as_deref().unwrap_or("no answer"))
    }
}

/// The result of one action, as the executor recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRecord {
    /// The action's name.
    pub action: String,
    /// The rendered idempotency key.
    pub key: String,
    /// The target's id for what it wrote (booking id…), if it returned one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// What the target answered (status and body, trimmed).
    pub response: serde_json::Value,
    /// Whether the ledger answered `COMPLETED` and the stored result was
    /// reused instead of calling the target again.
    #[serde(default)]
    pub prevented_duplicate: bool,
}
