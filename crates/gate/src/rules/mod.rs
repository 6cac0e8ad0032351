//! The rules engine: a fixed, ordered table of named rules over the typed
//! contract fields.
//!
//! Each rule yields a [`RuleResult`] and an effect; the strongest effect
//! wins, in this order: **pause** (kill switch off, policy `pause`) >
//! **reject** (source not permitted, action not allowlisted) > **clarify**
//! (missing or unusable fields — asking the user comes before asking a
//! person, who could not approve an incomplete request anyway) >
//! **exception** (confidence below the review threshold → `NEEDS_REVIEW`) >
//! **review** (party over the limit, confidence below auto, irreversible
//! workflow, kill switch off with policy `review`) > **auto**.
//!
//! Policy choices:
//! - A date in the past, a time already passed today, a time outside opening
//!   hours, an unparseable date or time, or a party below the minimum are
//!   *clarifications* for that field (the user can fix them); the bad value
//!   is listed in `missing` and left out of the parked contract.
//! - A party above the maximum goes to *review*: a party of 40 needs a person.
//! - An action that is not allowlisted — or a contract `action` that differs
//!   from the proposed one — is *rejected* (closed): a reviewer could not
//!   approve an action no connector implements. It is never `auto`.
//! - Irreversible workflows go to review unless `gate.rules.irreversible_auto
//!   = true` *and* the confidence reaches the auto threshold.
//! - Free-text fields (`notes`, `name`) are never read by any rule, except
//!   that `evidence_in_source` checks each quoted piece of evidence occurs in
//!   the upstream text it claims to quote (a model inventing its evidence
//!   goes to *review*).
//! - `gate.spot_check_rate` sends that share of the decisions that would
//!   run without a person to review anyway (rule `spot_check`), so someone
//!   keeps looking at what the model does when it is sure of itself.

mod checks;
pub mod config;
mod evidence;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_evidence;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sluice_core::WorkflowSpec;
use sluice_core::pipeline::{GateDecision, Interpretation, RuleResult, Verdict};

pub use config::{ContextCheck, EvidenceRule, GateRules, OpeningHours, PartySize};

/// A workflow compiled for the gate: its spec, rules and timezone.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The declared workflow.
    pub spec: WorkflowSpec,
    /// Its parsed `[gate.rules]`.
    pub rules: GateRules,
    /// Its timezone.
    pub timezone: Tz,
}

impl Policy {
    /// Compiles `spec`, refusing unknown rules and timezones.
    pub fn new(spec: WorkflowSpec) -> Result<Self, crate::Error> {
        let fail = |reason: String| crate::Error::Rules {
            workflow: spec.name.clone(),
            reason,
        };
        let rules = GateRules::from_spec(&spec.gate).map_err(fail)?;
        if let Some(check) = rules.context_checks.iter().find(|c| {
            !spec.context.iter().any(|p| {
                p.name == c.context && p.stage == sluice_core::workflow::ContextStage::Gate
            })
        }) {
            return Err(fail(format!(
                "gate.rules.context_checks.{0}: no [[context]] named {0:?} asked by the gate",
                check.context
            )));
        }
        let timezone: Tz = spec
            .timezone
            .parse()
            .map_err(|_| fail(format!("unknown timezone {:?}", spec.timezone)))?;
        Ok(Self {
            spec,
            rules,
            timezone,
        })
    }

    /// The action the execution would run: the proposed one, else the
    /// contract's `action` field.
    pub fn action<'a>(&self, interpretation: &'a Interpretation) -> Option<&'a str> {
        interpretation
            .proposed_action
            .as_deref()
            .or_else(|| interpretation.contract.get("action")?.as_str())
    }

    /// Whether `action` is on the workflow's allowlist.
    pub fn allows(&self, action: &str) -> bool {
        self.spec.gate.allowed_actions.iter().any(|a| a == action)
    }
}

/// What the rules look at.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The envelope's source.
    pub source: &'a str,
    /// The upstream payload, exactly as accepted: what evidence is checked
    /// against.
    pub data: &'a serde_json::Value,
    /// The interpreter's validated reading.
    pub interpretation: &'a Interpretation,
    /// "Now", from the gate's clock.
    pub now: DateTime<Utc>,
    /// The kill-switch key that is off, if any.
    pub switched_off: Option<&'a str>,
    /// Where the execution falls in [0, 1) for spot-check sampling: from
    /// its id (see [`sample_of`]), so a redelivery samples the same way.
    pub sample: f64,
    /// The context providers' answers, or `None` when none was gathered
    /// (offline evals, a reviewer's correction): then the context checks
    /// are not run.
    pub context: Option<&'a [sluice_core::pipeline::ContextUse]>,
}

/// The spot-check position of `execution` in [0, 1): its id's first 64
/// bits (ids are uniform hashes) over 2^64.
pub fn sample_of(execution: sluice_core::ExecutionId) -> f64 {
    let bytes = execution.as_uuid().as_bytes();
    let mut head = [0_u8; 8];
    head.copy_from_slice(&bytes[..8]);
    // 53 bits of a uniform u64 are plenty for a sampling fraction.
    #[allow(clippy::cast_precision_loss)]
    let position = (u64::from_be_bytes(head) >> 11) as f64 / (1_u64 << 53) as f64;
    position
}

/// Where the decision sends the execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Route {
    /// Execute without a person.
    Auto,
    /// `HUMAN_REVIEW_PENDING`.
    Review,
    /// `NEEDS_REVIEW`: the confidence is below the review threshold.
    Exception,
    /// Ask the user for the missing fields.
    Clarify,
    /// `CLOSED`.
    Reject,
    /// Switched off with policy `pause`: decide nothing, pause the consumer.
    Pause,
}

impl Route {
    /// The verdict recorded for this route (`Pause` records nothing; it maps
    /// to review only so the type is total).
    pub const fn verdict(self) -> Verdict {
        match self {
            Route::Auto => Verdict::Auto,
            Route::Review | Route::Exception | Route::Pause => Verdict::Review,
            Route::Clarify => Verdict::Clarify,
            Route::Reject => Verdict::Reject,
        }
    }

    /// The route of a recorded `decision` (exception and review share the
    /// `review` verdict; the confidence tells them apart, deterministically).
    pub fn of(decision: &GateDecision, policy: &Policy, confidence: f64) -> Self {
        match decision.verdict {
            Verdict::Auto => Route::Auto,
            Verdict::Clarify => Route::Clarify,
            Verdict::Reject => Route::Reject,
            Verdict::Review if below_review(policy, confidence) => Route::Exception,
            Verdict::Review => Route::Review,
        }
    }
}

fn below_review(policy: &Policy, confidence: f64) -> bool {
    // NaN is below every threshold: an unreadable confidence is never trusted.
    confidence.is_nan() || confidence < policy.spec.gate.review_threshold
}

/// One rule's result and what it asks for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Check {
    result: RuleResult,
    effect: Effect,
    /// What the user may pick instead, offered with a clarification.
    offers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
    Pass,
    Review,
    Exception,
    Clarify(Vec<String>),
    Reject,
    Pause,
}

impl Effect {
    const fn route(&self) -> Route {
        match self {
            Effect::Pass => Route::Auto,
            Effect::Review => Route::Review,
            Effect::Exception => Route::Exception,
            Effect::Clarify(_) => Route::Clarify,
            Effect::Reject => Route::Reject,
            Effect::Pause => Route::Pause,
        }
    }
}

/// The gate's decision and where it sends the execution.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// What is recorded (`GATE_DECIDED`) and set on the envelope.
    pub decision: GateDecision,
    /// Where the execution goes.
    pub route: Route,
}

/// The contract field a rule's failure is about, when it is about one
/// (`opening_hours` is about the time): where a form shows the failure.
pub fn rule_field(rule: &str) -> Option<&'static str> {
    match rule {
        "date_in_future" => Some("date"),
        "opening_hours" => Some("time"),
        "party_size" => Some("party_size"),
        _ => None,
    }
}

/// Runs every rule of the table over `facts`.
pub fn evaluate(policy: &Policy, facts: &Facts<'_>) -> Evaluation {
    let checks: Vec<Check> = checks::RULES
        .iter()
        .filter_map(|rule| rule(policy, facts))
        .collect();
    let route = checks
        .iter()
        .map(|c| c.effect.route())
        .max()
        .unwrap_or(Route::Auto);
    let mut missing: Vec<String> = Vec::new();
    for check in &checks {
        if let Effect::Clarify(fields) = &check.effect {
            for field in fields {
                if !missing.contains(field) {
                    missing.push(field.clone());
                }
            }
        }
    }
    let mut offers: Vec<String> = Vec::new();
    if route == Route::Clarify {
        for offer in checks.iter().flat_map(|c| &c.offers) {
            if !offers.contains(offer) {
                offers.push(offer.clone());
            }
        }
    }
    let summary = summary(route, &checks, &missing);
    let action = matches!(route, Route::Auto | Route::Review | Route::Exception)
        .then(|| policy.action(facts.interpretation).map(str::to_owned))
        .flatten();
    Evaluation {
        decision: GateDecision {
            verdict: route.verdict(),
            action,
            rules: checks.into_iter().map(|c| c.result).collect(),
            missing: if route == Route::Clarify {
                missing
            } else {
                Vec::new()
            },
            summary,
            offers,
            context: Vec::new(),
        },
        route,
    }
}

fn summary(route: Route, checks: &[Check], missing: &[String]) -> String {
    if route == Route::Auto {
        return format!("auto: all {} rules passed", checks.len());
    }
    if route == Route::Clarify {
        return format!("clarify: need {}", missing.join(", "));
    }
    let reasons: Vec<String> = checks
        .iter()
        .filter(|c| c.effect.route() == route)
        .map(|c| format!("{}: {}", c.result.rule, c.result.detail))
        .collect();
    let label = match route {
        Route::Exception => "exception",
        Route::Reject => "reject",
        Route::Pause => "pause",
        _ => "review",
    };
    format!("{label}: {}", reasons.join("; "))
}
