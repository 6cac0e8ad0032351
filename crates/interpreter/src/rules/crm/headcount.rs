//! `employee_count`: "120 employees", "team of 45", "about 2,000 staff",
//! "a 45-person team", "employs more than 500", "50-100 employees",
//! "120 Mitarbeiter", "300 empleados".

use super::Finding;
use super::number::{Qualifier, number, qualifier_before};
use super::text::Sentence;

/// Words that count people employed.
const NOUNS: &[&str] = &[
    "employees",
    "employee",
    "staff",
    "people",
    "persons",
    "fte",
    "ftes",
    "workers",
    "colleagues",
    "mitarbeiter",
    "mitarbeitende",
    "mitarbeitern",
    "beschäftigte",
    "angestellte",
    "empleados",
    "empleadas",
    "trabajadores",
    "colaboradores",
    "personas",
    "employés",
    "salariés",
    "collaborateurs",
    "personnes",
    "dipendenti",
];

/// Nouns that may count someone other than the account's staff ("used by
/// 10,000 people"); they count only when not preceded by one of [`SERVED`].
const AMBIGUOUS: &[&str] = &["people", "persons", "personas", "personnes"];
const SERVED: &[&str] = &[
    "by", "for", "serve", "serves", "serving", "help", "helps", "helping", "reach", "reaches",
    "reaching", "trusted",
];

/// Words after which a number is the headcount ("team of 45", "employs 300").
const LEADS: &[&[&str]] = &[
    &["team", "of"],
    &["staff", "of"],
    &["workforce", "of"],
    &["headcount", "of"],
    &["headcount"],
    &["employs"],
    &["employ"],
    &["employing"],
    &["beschäftigt"],
    &["emplea", "a"],
    &["emplea"],
    &["emploie"],
];

/// Words that may stand between a number and its noun ("120 full-time staff").
const BETWEEN: &[&str] = &["full-time", "fulltime", "permanent"];

/// The headcounts `sentence` states.
pub fn findings(sentence: &Sentence) -> Vec<Finding> {
    let words = &sentence.words;
    let mut out = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let found = before_noun(words, i)
            .or_else(|| after_lead(words, i))
            .or_else(|| hyphenated(word));
        if let Some((value, qualifier)) = found
            && let Some(n) = count(value)
        {
            out.push(Finding::new(n, confidence(qualifier), sentence));
        }
    }
    out
}

/// `120 employees`, `50-100 staff`, `50 to 100 people`, `500+ FTEs`.
fn before_noun(words: &[String], i: usize) -> Option<(f64, Qualifier)> {
    let mut noun_at = i + 1;
    while words
        .get(noun_at)
        .is_some_and(|w| BETWEEN.contains(&w.as_str()))
    {
        noun_at += 1;
    }
    let noun = words.get(noun_at)?.as_str();
    if !NOUNS.contains(&noun) {
        return None;
    }
    let (value, qualifier) = value_at(words, i)?;
    let lead = i.checked_sub(1).and_then(|j| words.get(j));
    let low = match lead.map(String::as_str) {
        Some("to" | "and" | "bis" | "a") => i.checked_sub(2).and_then(|j| number(&words[j])),
        _ => None,
    };
    if let Some(low) = low {
        return Some(((low.value + value) / 2.0, Qualifier::Bound));
    }
    let first = qualified_from(words, i, usize::MAX);
    let served = first
        .checked_sub(1)
        .and_then(|j| words.get(j))
        .is_some_and(|w| SERVED.contains(&w.as_str()));
    if AMBIGUOUS.contains(&noun) && served {
        return None;
    }
    Some((value, qualifier))
}

/// Where the qualifier words before `words[i]` start (at most `max` of them).
fn qualified_from(words: &[String], i: usize, max: usize) -> usize {
    let mut first = i;
    while first > 0 && i - first < max && is_qualifier_word(&words[first - 1]) {
        first -= 1;
    }
    first
}

fn is_qualifier_word(word: &str) -> bool {
    matches!(
        word,
        "about"
            | "around"
            | "approximately"
            | "roughly"
            | "some"
            | "nearly"
            | "almost"
            | "over"
            | "than"
            | "more"
            | "fewer"
            | "less"
            | "under"
            | "up"
            | "to"
            | "least"
            | "at"
    )
}

/// `team of 45`, `employs about 300`, `headcount: 120`, `team of more than 50`.
fn after_lead(words: &[String], i: usize) -> Option<(f64, Qualifier)> {
    let start = qualified_from(words, i, 2);
    LEADS.iter().find_map(|lead| {
        let from = start.checked_sub(lead.len())?;
        let matches = words[from..start]
            .iter()
            .zip(lead.iter())
            .all(|(w, l)| w == l);
        matches.then(|| value_at(words, i)).flatten()
    })
}

/// `45-person`, `300-strong`, `50-100` is left to [`before_noun`].
fn hyphenated(word: &str) -> Option<(f64, Qualifier)> {
    let (head, tail) = word.split_once('-')?;
    matches!(tail, "person" | "people" | "strong" | "employee" | "member")
        .then(|| number(head))
        .flatten()
        .map(|n| (n.value, n.qualifier))
}

/// The number at `words[i]` (a range `50-100` as its middle, a bound) with
/// its qualifier; amounts of money are not headcounts.
fn value_at(words: &[String], i: usize) -> Option<(f64, Qualifier)> {
    let word = words.get(i)?;
    if let Some((low, high)) = word.split_once('-') {
        let (low, high) = (number(low)?, number(high)?);
        return Some(((low.value + high.value) / 2.0, Qualifier::Bound));
    }
    let n = number(word).filter(|n| !n.marked || word.ends_with('k'))?;
    Some((n.value, n.qualifier.max(qualifier_before(words, i))))
}

fn count(value: f64) -> Option<i64> {
    let rounded = value.round();
    // Bounded by the contract's maximum; casting is exact in this range.
    #[allow(clippy::cast_possible_truncation)]
    ((1.0..=10_000_000.0).contains(&rounded)).then_some(rounded as i64)
}

/// An exact count is believed; an estimate nearly; a bound or a range is
/// a person's call.
const fn confidence(qualifier: Qualifier) -> f64 {
    match qualifier {
        Qualifier::Exact => 0.95,
        Qualifier::About => 0.85,
        Qualifier::Bound => 0.6,
    }
}
