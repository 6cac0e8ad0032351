//! `annual_revenue_band`: the band of an amount stated as revenue
//! ("revenue of $12M", "€250 million in annual revenue", "turnover: 3.5bn",
//! "Umsatz von 40 Mio. Euro"). Currencies are not converted: a band is
//! coarse enough for that.

use super::Finding;
use super::number::{Qualifier, multiplier, number, qualifier_before};
use super::text::Sentence;

/// Words that make an amount in the same sentence a revenue figure.
const TRIGGERS: &[&str] = &[
    "revenue",
    "revenues",
    "turnover",
    "arr",
    "umsatz",
    "jahresumsatz",
    "facturación",
    "facturacion",
    "ingresos",
    "factura",
    "chiffre",
];

const CURRENCIES: &[&str] = &[
    "eur", "euro", "euros", "usd", "dollars", "dollar", "gbp", "pounds", "chf",
];

/// The bands of the contract's enum, by their lower bound.
const BANDS: &[(f64, &str)] = &[
    (1e9, "over_1b"),
    (1e8, "100m_1b"),
    (1e7, "10m_100m"),
    (1e6, "1m_10m"),
    (0.0, "under_1m"),
];

/// The bands in the contract's enum, smallest first.
pub fn values() -> impl Iterator<Item = &'static str> {
    BANDS.iter().rev().map(|(_, band)| *band)
}

/// The revenue `sentence` states, as a band.
pub fn findings(sentence: &Sentence) -> Vec<Finding> {
    let words = &sentence.words;
    let Some(trigger) = words.iter().position(|w| TRIGGERS.contains(&w.as_str())) else {
        return Vec::new();
    };
    let amounts: Vec<(usize, f64, Qualifier)> =
        (0..words.len()).filter_map(|i| amount(words, i)).collect();
    // The first amount after the trigger ("revenue of $12M"), else the
    // last one before it ("$12M in revenue").
    let chosen = amounts
        .iter()
        .find(|(i, ..)| *i > trigger)
        .or_else(|| amounts.iter().rev().find(|(i, ..)| *i < trigger));
    chosen
        .map(|&(_, value, qualifier)| {
            let confidence = match qualifier {
                Qualifier::Exact => 0.9,
                Qualifier::About => 0.85,
                Qualifier::Bound => 0.6,
            };
            vec![Finding::new(band(value), confidence, sentence)]
        })
        .unwrap_or_default()
}

/// An amount of money at `words[i]`: a number with a currency sign, a
/// multiplier (`12m`, `12 million`) or a currency word after it.
fn amount(words: &[String], i: usize) -> Option<(usize, f64, Qualifier)> {
    let n = number(&words[i])?;
    let mut value = n.value;
    let mut marked = n.marked;
    let mut next = i + 1;
    if let Some(m) = words
        .get(next)
        .and_then(|w| multiplier(w.trim_end_matches('.')))
    {
        value *= m;
        marked = true;
        next += 1;
    }
    if words
        .get(next)
        .is_some_and(|w| CURRENCIES.contains(&w.as_str()))
    {
        marked = true;
    }
    let qualifier = n.qualifier.max(qualifier_before(words, i));
    (marked && value > 0.0).then_some((i, value, qualifier))
}

fn band(value: f64) -> &'static str {
    BANDS
        .iter()
        .find(|(floor, _)| value >= *floor)
        .map_or("under_1m", |(_, band)| band)
}
