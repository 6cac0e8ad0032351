//! The rules, one function each, in evaluation order.
//!
//! Every rule reads typed fields only (`date`, `time`, `party_size`, the
//! proposed action, the source, the confidence); none reads free text.

use chrono::{NaiveDate, NaiveTime};
use serde_json::Value;
use sluice_core::pipeline::RuleResult;
use sluice_core::workflow::SwitchedOff;

use super::{Check, Effect, Facts, Policy};

type Rule = fn(&Policy, &Facts<'_>) -> Option<Check>;

/// The rule table, in evaluation (and reporting) order.
pub(crate) const RULES: &[Rule] = &[
    kill_switch,
    source_permitted,
    allowed_actions,
    required,
    formats,
    date_in_future,
    opening_hours,
    party_size,
    context,
    confidence,
    irreversible,
    super::evidence::evidence_in_source,
    spot_check,
];

const DATE_FORMAT: &str = "%Y-%m-%d";
const TIME_FORMAT: &str = "%H:%M";

pub(super) fn check(rule: &str, effect: Effect, detail: impl Into<String>) -> Option<Check> {
    Some(Check {
        result: RuleResult {
            rule: rule.to_owned(),
            passed: effect == Effect::Pass,
            detail: detail.into(),
        },
        effect,
        offers: Vec::new(),
    })
}

/// A contract field, treating null and the empty string as absent.
fn field<'a>(facts: &Facts<'a>, name: &str) -> Option<&'a Value> {
    match facts.interpretation.contract.get(name)? {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        v => Some(v),
    }
}

fn date(facts: &Facts<'_>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(field(facts, "date")?.as_str()?, DATE_FORMAT).ok()
}

fn time(facts: &Facts<'_>) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(field(facts, "time")?.as_str()?, TIME_FORMAT).ok()
}

fn party(facts: &Facts<'_>) -> Option<i64> {
    field(facts, "party_size")?.as_i64()
}

fn kill_switch(policy: &Policy, facts: &Facts<'_>) -> Option<Check> {
    let Some(key) = facts.switched_off else {
        return check("kill_switch", Effect::Pass, "on");
    };
    let effect = match policy.spec.gate.when_switched_off {
        SwitchedOff::Pause => Effect::Pause,
        SwitchedOff::Review => Effect::Review,
    };
    check("kill_switch", effect, format!("switch {key} is off"))
}

fn source_permitted(policy: &Policy, facts: &Facts<'_>) -> Option<Check> {
    if policy.spec.sources.iter().any(|s| s == facts.source) {
        check("source_permitted", Effect::Pass, facts.source)
    } else {
        let detail = format!("source {:?} does not feed this workflow", facts.source);
        check("source_permitted", Effect::Reject, detail)
    }
}

fn allowed_actions(policy: &Policy, facts: &Facts<'_>) -> Option<Check> {
    let interpretation = facts.interpretation;
    let Some(action) = policy.action(interpretation) else {
        return check("allowed_actions", Effect::Reject, "no action proposed");
    };
    let in_contract = interpretation
        .contract
        .get("action")
        .and_then(Value::as_str);
    if let Some(other) = in_contract.filter(|c| *c != action) {
        let detail = format!("contract action {other:?} differs from proposed {action:?}");
        return check("allowed_actions", Effect::Reject, detail);
    }
    if policy.allows(action) {
        check("allowed_actions", Effect::Pass, action)
    } else {
        let detail = format!("action {action:?} is not allowlisted");
        check("allowed_actions", Effect::Reject, detail)
    }
}

fn required(policy: &Policy, facts: &Facts<'_>) -> Option<Check> {
    if policy.rules.required.is_empty() {
        return None;
    }
    let missing: Vec<String> = policy
        .rules
        .required
        .iter()
        .filter(|name| field(facts, name).is_none())
        .cloned()
        .collect();
    if missing.is_empty() {
        return check("required", Effect::Pass, "all present");
    }
    let detail = format!("missing {}", missing.join(", "));
    check("required", Effect::Clarify(missing), detail)
}

fn formats(_: &Policy, facts: &Facts<'_>) -> Option<Check> {
    let mut bad = Vec::new();
    if field(facts, "date").is_some() && date(facts).is_none() {
        bad.push("date".to_owned());
    }
    if field(facts, "time").is_some() && time(facts).is_none() {
        bad.push("time".to_owned());
    }
    if field(facts, "party_size").is_some() && party(facts).is_none() {
        bad.push("party_size".to_owned());
    }
    if bad.is_empty() {
        return check("formats", Effect::Pass, "");
    }
    let detail = format!("unreadable {}", bad.join(", "));
    check("formats", Effect::Clarify(bad), detail)
}

fn date_in_future(policy: &Policy, facts: &Facts<'_>) -> Option<Check> {
    let day = date(facts)?;
    let now = facts.now.with_timezone(&policy.timezone);
    let today = now.date_naive();
    let rule = "date_in_future";
    if day < today {
        let detail = format!("{day} is before today ({today}, {})", policy.timezone);
        return check(rule, Effect::Clarify(vec!["date".into()]), detail);
    }
    if let Some(at) = time(facts).filter(|t| day == today && *t <= now.time()) {
        let detail = format!(
            "{day} {} has passed ({})",
            at.format("%H:%M"),
            policy.timezone
        );
        return check(rule, Effect::Clarify(vec!["time".into()]), detail);
    }
    check(rule, Effect::Pass, format!("today is {today}"))
}

fn opening_hours(policy: &Policy, facts: &Facts<'_>) -> Option<Check> {
    let hours = policy.rules.opening_hours?;
    let at = time(facts)?;
    let window = format!(
        "{}–{}",
        hours.open.format("%H:%M"),
        hours.close.format("%H:%M")
    );
    if hours.contains(at) {
        return check("opening_hours", Effect::Pass, window);
    }
    let detail = format!("{} is outside {window}", at.format("%H:%M"));
    check(
        "opening_hours",
        Effect::Clarify(vec!["time".into()]),
        detail,
    )
}

fn party_size(policy: &Policy, facts: &Facts<'_>) -> Option<Check> {
    let limits = policy.rules.party_size?;
    let n = party(facts)?;
    let range = format!("{}..={}", limits.min, limits.max);
    if n < limits.min {
        let detail = format!("{n} is below {}", limits.min);
        return check(
            "party_size",
            Effect::Clarify(vec!["party_size".into()]),
            detail,
        );
    }
    if n > limits.max {
        let detail = format!("{n} exceeds the limit of {}", limits.max);
        return check("party_size", Effect::Review, detail);
    }
    check("party_size", Effect::Pass, format!("{n} in {range}"))
}

fn confidence(policy: &Policy, facts: &Facts<'_>) -> Option<Check> {
    let c = facts.interpretation.confidence;
    let gate = &policy.spec.gate;
    if c >= gate.auto_threshold {
        let detail = format!("{c:.2} ≥ auto {:.2}", gate.auto_threshold);
        return check("confidence", Effect::Pass, detail);
    }
    if c >= gate.review_threshold {
        let detail = format!("{c:.2} below auto {:.2}", gate.auto_threshold);
        return check("confidence", Effect::Review, detail);
    }
    // NaN lands here too: an unreadable confidence is never trusted.
    let detail = format!("{c:.2} below review {:.2}", gate.review_threshold);
    check("confidence", Effect::Exception, detail)
}

fn irreversible(policy: &Policy, facts: &Facts<'_>) -> Option<Check> {
    if !policy.spec.irreversible {
        return None;
    }
    let confident = facts.interpretation.confidence >= policy.spec.gate.auto_threshold;
    if policy.rules.irreversible_auto && confident {
        return check(
            "irreversible",
            Effect::Pass,
            "irreversible_auto and confident",
        );
    }
    check(
        "irreversible",
        Effect::Review,
        "irreversible action needs a person",
    )
}

fn spot_check(policy: &Policy, facts: &Facts<'_>) -> Option<Check> {
    let rate = policy.spec.gate.spot_check_rate;
    if rate <= 0.0 {
        return None;
    }
    let percent = rate * 100.0;
    if facts.sample < rate {
        return check(
            "spot_check",
            Effect::Review,
            format!("sampled for a spot check ({percent}% of decisions)"),
        );
    }
    check("spot_check", Effect::Pass, "not sampled")
}

/// The context providers' answers: one that could not be had stops the
/// execution for a person (never act on what could not be checked); a
/// check that fails asks the user again, offering the alternatives the
/// answer lists. Not run when no context was gathered (offline evals).
fn context(policy: &Policy, facts: &Facts<'_>) -> Option<Check> {
    let answers = facts.context?;
    if answers.is_empty() {
        return None;
    }
    let mut unavailable = Vec::new();
    let mut ask: Vec<String> = Vec::new();
    let mut offers: Vec<String> = Vec::new();
    let mut details = Vec::new();
    for used in answers {
        let name = &used.name;
        let value = match used.answer() {
            Ok(value) => value,
            Err(why) => {
                unavailable.push(format!("{name} could not be checked ({why})"));
                continue;
            }
        };
        for check in policy
            .rules
            .context_checks
            .iter()
            .filter(|c| &c.context == name)
        {
            match value.get(&check.ok).and_then(Value::as_bool) {
                Some(true) => details.push(format!("{name}: {} holds", check.ok)),
                Some(false) => {
                    let offered: Vec<String> = check
                        .offer
                        .as_deref()
                        .and_then(|o| value.get(o))
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(sluice_core::template::scalar)
                        .collect();
                    details.push(format!(
                        "{name}: {} is false; asking for {} again{}",
                        check.ok,
                        check.ask.join(", "),
                        if offered.is_empty() {
                            String::new()
                        } else {
                            format!(", offering {}", offered.join(", "))
                        }
                    ));
                    for field in &check.ask {
                        if !ask.contains(field) {
                            ask.push(field.clone());
                        }
                    }
                    offers.extend(offered);
                }
                None => unavailable.push(format!("{name}'s answer has no boolean {:?}", check.ok)),
            }
        }
    }
    let (effect, detail) = if !unavailable.is_empty() {
        (Effect::Review, unavailable.join("; "))
    } else if !ask.is_empty() {
        (Effect::Clarify(ask), details.join("; "))
    } else {
        let detail = if details.is_empty() {
            "context gathered".to_owned()
        } else {
            details.join("; ")
        };
        (Effect::Pass, detail)
    };
    let mut found = check("context", effect, detail)?;
    found.offers = offers;
    Some(found)
}
