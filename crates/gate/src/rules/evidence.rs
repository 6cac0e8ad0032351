//! `evidence_in_source`: every quote the reading offers as evidence must
//! occur in the upstream text it claims to quote.
//!
//! A model asked for "the sentence that says so" may answer with a sentence
//! nobody wrote; such a reading is not wrong on its face, only unsupported,
//! so it goes to a person instead of being written. Quotes are compared with
//! runs of whitespace collapsed (line breaks and double spaces are not
//! evidence of anything); a quote cut short with a trailing `…` must match
//! up to the cut.

use serde_json::Value;

use super::checks::check;
use super::{Check, Effect, Facts, Policy};

pub(super) fn evidence_in_source(policy: &Policy, facts: &Facts<'_>) -> Option<Check> {
    let rule = policy.rules.evidence_in_source.as_ref()?;
    let quotes = facts
        .interpretation
        .contract
        .get(&rule.evidence)
        .and_then(Value::as_object);
    let Some(quotes) = quotes.filter(|q| !q.is_empty()) else {
        return check("evidence_in_source", Effect::Pass, "no evidence to check");
    };
    let text: Vec<String> = rule
        .source
        .iter()
        .filter_map(|field| facts.data.get(field)?.as_str())
        .map(collapse)
        .collect();
    let unsupported: Vec<&str> = quotes
        .iter()
        .filter(|(_, quote)| {
            let Some(quote) = quote.as_str() else {
                return true;
            };
            let quote = collapse(quote.trim_end_matches('…'));
            quote.is_empty() || !text.iter().any(|t| t.contains(&quote))
        })
        .map(|(field, _)| field.as_str())
        .collect();
    if unsupported.is_empty() {
        let detail = format!(
            "{} quotes found in {}",
            quotes.len(),
            rule.source.join(", ")
        );
        return check("evidence_in_source", Effect::Pass, detail);
    }
    let detail = format!(
        "evidence for {} is not in {}",
        unsupported.join(", "),
        rule.source.join(" or ")
    );
    check("evidence_in_source", Effect::Review, detail)
}

/// `text` with every run of whitespace as one space, trimmed.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
