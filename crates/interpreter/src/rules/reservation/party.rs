//! Party size: "for four", "4 people", "a party of 6", "we are two";
//! "para cuatro", "2 personas", "somos seis".

use super::text::{number, number_at};

const PEOPLE: &[&str] = &[
    "people",
    "persons",
    "person",
    "guests",
    "guest",
    "pax",
    "adults",
    "of",
    "diners",
    "ppl",
    "personas",
    "persona",
    "comensales",
    "adultos",
];

/// Words after a number that make it a time, not a party size (and "in
/// the", "a m", "p m": see [`sized`]).
const TIME_WORDS: &[&str] = &["o'clock", "oclock", "am", "pm", "h", "hours"];

/// The party size and its confidence.
pub fn party_size(tokens: &[String]) -> Option<(u32, f64)> {
    // "4 people", "four guests", "6 of us": the clearest form.
    for i in 0..tokens.len() {
        if let Some((n, used)) = number_at(tokens, i)
            && let Some(next) = tokens.get(i + used)
            && PEOPLE.contains(&next.as_str())
            && (next != "of" || tokens.get(i + used + 1).is_some_and(|t| t == "us"))
            && n > 0
        {
            return Some((n, 0.95));
        }
    }
    // "party of 6", "table for four", "group of 5", "we are 3", "we're two".
    for (i, pair) in tokens.windows(2).enumerate() {
        let lead = (pair[0].as_str(), pair[1].as_str());
        let explicit = matches!(
            lead,
            ("party", "of")
                | ("group", "of")
                | ("table", "for")
                | ("we", "are")
                | ("booking", "for")
                | ("reservation", "for")
                | ("mesa", "para")
                | ("reserva", "para")
                | ("reservar", "para")
                | ("grupo", "de")
        );
        if explicit && let Some(n) = sized(tokens, i + 2) {
            return Some((n, 0.95));
        }
    }
    if let Some(i) = tokens.iter().position(|t| t == "we're" || t == "somos")
        && let Some(n) = sized(tokens, i + 1)
    {
        return Some((n, 0.9));
    }
    // A bare "for two": a party size unless a time word follows.
    for (i, t) in tokens.iter().enumerate() {
        if (t == "for" || t == "para")
            && let Some(n) = sized(tokens, i + 1)
        {
            return Some((n, 0.85));
        }
    }
    // "a couple": two people, less sure.
    tokens
        .windows(2)
        .any(|p| p[0] == "a" && p[1] == "couple")
        .then_some((2, 0.7))
}

/// A number at `i` that reads as a head count (not followed by a time word).
fn sized(tokens: &[String], i: usize) -> Option<u32> {
    let (n, used) = number_at(tokens, i)?;
    let next = tokens.get(i + used).map(String::as_str);
    let after = tokens.get(i + used + 1).map(String::as_str);
    // "for 9 in the evening", "for 9 a.m." — but "for 4 in two days",
    // "para dos a las nueve" are party sizes.
    let pair = matches!(
        (next, after),
        (Some("in"), Some("the")) | (Some("a" | "p"), Some("m"))
    );
    if n == 0 || pair || next.is_some_and(|w| TIME_WORDS.contains(&w)) {
        return None;
    }
    // A plain number token that also carries a unit ("8pm") was never matched
    // by `number`, so only the number word itself is checked here.
    number(&tokens[i]).map(|_| n)
}
