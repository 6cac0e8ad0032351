//! `[gate.rules]` of a workflow, parsed once at start-up.
//!
//! Unknown rule names are refused: a typo such as `party_sise` must stop the
//! service, not silently switch a guardrail off.

use chrono::NaiveTime;
use sluice_core::workflow::GateSpec;

/// The configurable rules of one workflow.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GateRules {
    /// Contract fields that must be present (`required = [...]`).
    pub required: Vec<String>,
    /// Party-size limits (`party_size = { min, max }`).
    pub party_size: Option<PartySize>,
    /// Opening hours (`opening_hours = { open = "HH:MM", close = "HH:MM" }`).
    pub opening_hours: Option<OpeningHours>,
    /// Whether an irreversible workflow may act without review when the
    /// confidence reaches the auto threshold (`irreversible_auto = true`).
    pub irreversible_auto: bool,
    /// Quotes that must occur in the upstream text
    /// (`evidence_in_source = { evidence = "evidence", source = [...] }`).
    pub evidence_in_source: Option<EvidenceRule>,
    /// What each context provider's answer must say before the request
    /// goes ahead (`[gate.rules.context_checks.<provider>]`).
    pub context_checks: Vec<ContextCheck>,
}

/// Where a contract keeps its evidence and which payload fields it quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRule {
    /// The contract field holding `{ field: "quote", … }`.
    pub evidence: String,
    /// The payload's text fields the quotes must come from.
    pub source: Vec<String>,
}

/// Accepted party sizes; above `max` a person decides, below `min` the user
/// is asked again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartySize {
    /// The smallest party.
    pub min: i64,
    /// The largest party accepted without review.
    pub max: i64,
}

/// Times at which a booking may start: `open ≤ t < close`, wrapping past
/// midnight when `close ≤ open`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpeningHours {
    /// Opening time.
    pub open: NaiveTime,
    /// Closing time (exclusive).
    pub close: NaiveTime,
}

/// `[gate.rules.context_checks.<provider>]`: a boolean of the provider's
/// answer that must be true (`ok`); when false the user is asked for `ask`
/// again, offered the strings of the answer's `offer` list (the nearest
/// free times when a slot is full).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextCheck {
    /// The provider (`[[context]] name`).
    pub context: String,
    /// The answer's boolean field that must be true.
    pub ok: String,
    /// The contract fields asked for again when it is false.
    pub ask: Vec<String>,
    /// The answer's list of alternatives, if it has one.
    pub offer: Option<String>,
}

impl OpeningHours {
    /// Whether a booking may start at `t`.
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.open < self.close {
            self.open <= t && t < self.close
        } else {
            t >= self.open || t < self.close
        }
    }
}

impl GateRules {
    /// Parses `spec.rules`, refusing unknown names and malformed parameters.
    pub fn from_spec(spec: &GateSpec) -> Result<Self, String> {
        let mut rules = Self::default();
        for (name, value) in &spec.rules {
            match name.as_str() {
                "required" => rules.required = strings(name, value)?,
                "party_size" => rules.party_size = Some(party_size(value)?),
                "opening_hours" => rules.opening_hours = Some(opening_hours(value)?),
                "irreversible_auto" => {
                    rules.irreversible_auto = value
                        .as_bool()
                        .ok_or("gate.rules.irreversible_auto must be a boolean")?;
                }
                "evidence_in_source" => {
                    let evidence = value
                        .get("evidence")
                        .and_then(toml::Value::as_str)
                        .ok_or("gate.rules.evidence_in_source.evidence must name a field")?
                        .to_owned();
                    let source = value.get("source").ok_or_else(|| {
                        "gate.rules.evidence_in_source.source must list payload fields".to_owned()
                    })?;
                    let source = strings("evidence_in_source.source", source)?;
                    rules.evidence_in_source = Some(EvidenceRule { evidence, source });
                }
                "context_checks" => rules.context_checks = context_checks(value)?,
                other => return Err(format!("unknown gate rule {other:?}")),
            }
        }
        Ok(rules)
    }
}

fn strings(name: &str, value: &toml::Value) -> Result<Vec<String>, String> {
    let bad = || format!("gate.rules.{name} must be a list of field names");
    value
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|v| v.as_str().map(str::to_owned).ok_or_else(bad))
        .collect()
}

fn party_size(value: &toml::Value) -> Result<PartySize, String> {
    let int = |key: &str| {
        value
            .get(key)
            .and_then(toml::Value::as_integer)
            .ok_or_else(|| format!("gate.rules.party_size.{key} must be an integer"))
    };
    let (min, max) = (int("min")?, int("max")?);
    if min > max {
        return Err("gate.rules.party_size: min exceeds max".into());
    }
    Ok(PartySize { min, max })
}

fn opening_hours(value: &toml::Value) -> Result<OpeningHours, String> {
    let time = |key: &str| {
        value
            .get(key)
            .and_then(toml::Value::as_str)
            .and_then(|s| NaiveTime::parse_from_str(s, "%H:%M").ok())
            .ok_or_else(|| format!("gate.rules.opening_hours.{key} must be \"HH:MM\""))
    };
    Ok(OpeningHours {
        open: time("open")?,
        close: time("close")?,
    })
}

fn context_checks(value: &toml::Value) -> Result<Vec<ContextCheck>, String> {
    let table = value
        .as_table()
        .ok_or("gate.rules.context_checks must be a table of providers")?;
    let mut checks = Vec::new();
    for (context, check) in table {
        let key = |k: &str| format!("gate.rules.context_checks.{context}.{k}");
        let known = ["ok", "ask", "offer"];
        if let Some(other) = check
            .as_table()
            .ok_or_else(|| format!("gate.rules.context_checks.{context} must be a table"))?
            .keys()
            .find(|k| !known.contains(&k.as_str()))
        {
            return Err(format!("unknown key {}", key(other)));
        }
        let ok = check
            .get("ok")
            .and_then(toml::Value::as_str)
            .ok_or_else(|| format!("{} must name a boolean field of the answer", key("ok")))?
            .to_owned();
        let ask = match check.get("ask") {
            Some(v) => strings(&format!("context_checks.{context}.ask"), v)?,
            None => Vec::new(),
        };
        if ask.is_empty() {
            return Err(format!(
                "{} must list the fields to ask for again",
                key("ask")
            ));
        }
        let offer = match check.get("offer") {
            Some(v) => Some(
                v.as_str()
                    .ok_or_else(|| format!("{} must name a list of the answer", key("offer")))?
                    .to_owned(),
            ),
            None => None,
        };
        checks.push(ContextCheck {
            context: context.clone(),
            ok,
            ask,
            offer,
        });
    }
    Ok(checks)
}
