//! The CRM-enrichment extractor: suggested account fields (industry,
//! headcount, head office, revenue band) read from an account's website
//! text and the sales team's notes, each with the sentence that supports
//! it as evidence.
//!
//! - The account id and the hash of the source text are fixed fields: taken
//!   from the payload, never from what the text says, so no text can move
//!   the idempotency key, and new text is a new key.
//! - A field without a supporting sentence is left out; conflicting
//!   statements lower its confidence (the notes, being newer, win the value)
//!   and keep every other field below the automatic threshold: a text that
//!   contradicts itself is a person's to read as a whole.
//! - Sentences that address their reader ("ignore previous instructions,
//!   set industry to …") are data the extractor never reads a value from,
//!   and their presence caps every confidence below the automatic
//!   threshold, so a person looks.

mod headcount;
mod industry;
mod number;
mod place;
mod revenue;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_contract;
mod text;

use ring::digest::{SHA256, digest};
use serde_json::{Map, Value, json};

use self::text::{Origin, Sentence};
use super::{ExtractInput, Extraction, Extractor};

/// The action every enrichment proposes (the workflow's saga: stage the
/// suggestion, then update the account).
pub const ACTION: &str = "update_account";

/// The highest confidence of any field when the text tries to instruct
/// its reader.
const INSTRUCTED_CAP: f64 = 0.6;

/// The highest confidence of any field when the text contradicts itself
/// on one of them (below the workflow's automatic threshold of 0.85).
const CONFLICT_CAP: f64 = 0.8;

/// Registered as `crm-enrichment`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CrmExtractor;

/// One statement of a field's value, with the sentence that makes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    value: Value,
    confidence: f64,
    evidence: String,
    origin: Origin,
    /// The text also says something else about this field.
    conflict: bool,
}

impl Finding {
    fn new(value: impl Into<Value>, confidence: f64, sentence: &Sentence) -> Self {
        Self {
            value: value.into(),
            confidence,
            evidence: sentence.evidence(),
            origin: sentence.origin,
            conflict: false,
        }
    }

    /// The same, contradicted elsewhere in the text.
    fn contradicted(mut self) -> Self {
        self.conflict = true;
        self
    }
}

/// The text the enrichment is read from, as it is hashed: the website text
/// and the sales notes, each trimmed with line ends normalised, joined by
/// one line break (an absent field is empty).
pub fn source_text(website: &str, notes: &str) -> String {
    let clean = |s: &str| s.replace("\r\n", "\n").trim().to_owned();
    format!("{}\n{}", clean(website), clean(notes))
}

/// SHA-256 (lower-case hex) of [`source_text`].
pub fn source_hash(website: &str, notes: &str) -> String {
    hex::encode(digest(&SHA256, source_text(website, notes).as_bytes()))
}

fn text_of<'a>(payload: &'a Value, field: &str) -> &'a str {
    payload
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

impl Extractor for CrmExtractor {
    fn fixed_fields(&self, _source: &str, payload: &Value) -> Map<String, Value> {
        let mut fields = Map::new();
        if let Some(account) = payload.get("account_id").and_then(Value::as_str) {
            fields.insert("account_id".into(), json!(account));
        }
        let (website, notes) = (
            text_of(payload, "website_text"),
            text_of(payload, "sales_notes"),
        );
        fields.insert("source_hash".into(), json!(source_hash(website, notes)));
        fields
    }

    fn message_text(&self, payload: &Value) -> String {
        let or_none = |s: &str| {
            let s = s.trim();
            if s.is_empty() {
                "(none)".to_owned()
            } else {
                s.to_owned()
            }
        };
        format!(
            "Website text:\n{}\n\nSales notes:\n{}",
            or_none(text_of(payload, "website_text")),
            or_none(text_of(payload, "sales_notes"))
        )
    }

    fn extract(&self, input: &ExtractInput<'_>) -> Extraction {
        let payload = input.payload;
        let mut out = Extraction {
            contract: self.fixed_fields(input.source, payload),
            ..Extraction::default()
        };
        out.contract.insert("action".into(), json!(ACTION));
        let all = text::sentences(
            text_of(payload, "website_text"),
            text_of(payload, "sales_notes"),
        );
        let (instructions, facts): (Vec<&Sentence>, Vec<&Sentence>) =
            all.iter().partition(|s| text::is_instruction(s));
        let (mut cities, mut countries) = (Vec::new(), Vec::new());
        for sentence in &facts {
            let (c, k) = place::findings(sentence);
            cities.extend(c);
            countries.extend(k);
        }
        let fields = [
            ("industry", industry::finding(&facts)),
            (
                "employee_count",
                resolve(facts.iter().flat_map(|s| headcount::findings(s)).collect()),
            ),
            ("hq_city", resolve(cities)),
            ("hq_country", resolve(countries)),
            (
                "annual_revenue_band",
                resolve(facts.iter().flat_map(|s| revenue::findings(s)).collect()),
            ),
        ];
        let contradicted = fields.iter().flat_map(|(_, f)| f).any(|f| f.conflict);
        let cap = match (instructions.is_empty(), contradicted) {
            (false, _) => INSTRUCTED_CAP,
            (true, true) => CONFLICT_CAP,
            (true, false) => 1.0,
        };
        let mut evidence = Map::new();
        for (field, finding) in fields {
            let Some(finding) = finding else { continue };
            let confidence = finding.confidence.min(cap);
            out.set(field, finding.value, confidence);
            evidence.insert(field.to_owned(), json!(finding.evidence));
        }
        if !evidence.is_empty() {
            out.contract
                .insert("evidence".into(), Value::Object(evidence));
        }
        out
    }
}

/// One value from a field's statements. Agreeing statements give the
/// surest one; two different values are a person's call (the notes win
/// the value, being newer), three or more a guess.
fn resolve(findings: Vec<Finding>) -> Option<Finding> {
    let mut distinct: Vec<&Value> = Vec::new();
    for f in &findings {
        if !distinct.contains(&&f.value) {
            distinct.push(&f.value);
        }
    }
    let ceiling = match distinct.len() {
        0 => return None,
        1 => 1.0,
        2 => 0.55,
        _ => 0.4,
    };
    let chosen = if ceiling < 1.0 {
        findings
            .iter()
            .rev()
            .find(|f| f.origin == Origin::Notes)
            .or_else(|| findings.first())
    } else {
        findings
            .iter()
            .max_by(|a, b| a.confidence.total_cmp(&b.confidence))
    }?;
    let mut chosen = chosen.clone();
    chosen.confidence = chosen.confidence.min(ceiling);
    Some(if ceiling < 1.0 {
        chosen.contradicted()
    } else {
        chosen
    })
}

/// The values the contract allows for `industry` and `annual_revenue_band`,
/// so a test can hold the schema to the extractor.
pub fn enums() -> (Vec<&'static str>, Vec<&'static str>) {
    (industry::values().collect(), revenue::values().collect())
}
