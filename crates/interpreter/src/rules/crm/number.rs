//! Numbers as sales text writes them: `120`, `2,000`, `2.000` (German
//! thousands), `3.5`, `1,5`, `1.2k`, `$12M`, `~300`, `500+`, with the
//! words around them that make them approximate ("about") or a bound
//! ("more than").

/// How exact a stated number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Qualifier {
    /// As written.
    Exact,
    /// "about 2,000": an estimate, still a value.
    About,
    /// "more than 500", "500+", "up to 50": a bound, not a value.
    Bound,
}

/// A number read from one word, with its multiplier and qualifier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Number {
    /// The value, multiplier applied (`1.2k` → 1200).
    pub value: f64,
    /// How exact it is, from the word itself (`~`, `+`).
    pub qualifier: Qualifier,
    /// Whether the word carried a multiplier or a currency sign (`12m`,
    /// `$5`): then it is surely an amount, not a year.
    pub marked: bool,
}

/// Reads `word` (lower case) as a number; `None` for anything else,
/// percentages included.
pub fn number(word: &str) -> Option<Number> {
    let mut qualifier = Qualifier::Exact;
    let mut marked = false;
    let mut rest = word;
    if let Some(r) = rest.strip_prefix('~') {
        qualifier = Qualifier::About;
        rest = r;
    }
    for sign in ['$', '€', '£'] {
        if let Some(r) = rest.strip_prefix(sign) {
            marked = true;
            rest = r;
        }
    }
    if let Some(r) = rest.strip_suffix('+') {
        qualifier = Qualifier::Bound;
        rest = r;
    }
    let digits_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ',' || c == '.'))
        .unwrap_or(rest.len());
    let (digits, suffix) = rest.split_at(digits_end);
    if digits.is_empty() || !digits.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut value = plain(digits)?;
    if !suffix.is_empty() {
        value *= multiplier(suffix)?;
        marked = true;
    }
    Some(Number {
        value,
        qualifier,
        marked,
    })
}

/// `2,000` and `2.000` are thousands; `3.5` and `1,5` are decimals.
fn plain(digits: &str) -> Option<f64> {
    let groups: Vec<&str> = digits.split([',', '.']).collect();
    let thousands = groups.len() > 1
        && groups.first().is_some_and(|g| (1..=3).contains(&g.len()))
        && groups.iter().skip(1).all(|g| g.len() == 3);
    let text = if thousands {
        groups.concat()
    } else if groups.len() == 2 {
        digits.replace(',', ".")
    } else if groups.len() == 1 {
        digits.to_owned()
    } else {
        return None;
    };
    text.parse().ok()
}

/// The multiplier a word or suffix names (`k`, `million`, `mrd`…).
pub fn multiplier(word: &str) -> Option<f64> {
    match word {
        "k" | "thousand" | "thousands" | "tausend" | "mil" => Some(1e3),
        "m" | "mm" | "mn" | "mio" | "million" | "millions" | "millionen" | "millones"
        | "millón" | "millon" => Some(1e6),
        "b" | "bn" | "mrd" | "billion" | "billions" | "milliarde" | "milliarden" | "milliards" => {
            Some(1e9)
        }
        _ => None,
    }
}

const ABOUT: &[&str] = &[
    "about",
    "around",
    "approximately",
    "approx",
    "roughly",
    "some",
    "nearly",
    "almost",
    "circa",
    "ca",
    "etwa",
    "rund",
    "ungefähr",
    "unos",
    "unas",
    "aproximadamente",
    "environ",
];

const BOUND: &[&str] = &[
    "over",
    "than",
    "under",
    "least",
    "beyond",
    "exceeding",
    "als",
    "über",
    "upwards",
];

/// The qualifier the words before `words[at]` give the number there
/// ("about 2,000", "more than 500", "up to 50", "más de 300").
pub fn qualifier_before(words: &[String], at: usize) -> Qualifier {
    let word = |back: usize| {
        at.checked_sub(back)
            .and_then(|i| words.get(i))
            .map_or("", String::as_str)
    };
    let (one, two) = (word(1), word(2));
    if BOUND.contains(&one)
        || (one == "to" && two == "up")
        || (one == "de" && matches!(two, "más" | "mas" | "plus"))
    {
        Qualifier::Bound
    } else if ABOUT.contains(&one) || (one == "de" && two == "alrededor") {
        Qualifier::About
    } else {
        Qualifier::Exact
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(word: &str) -> Option<f64> {
        number(word).map(|n| n.value)
    }

    #[test]
    fn reads_separators_suffixes_and_signs() {
        assert_eq!(value("120"), Some(120.0));
        assert_eq!(value("2,000"), Some(2000.0));
        assert_eq!(value("2.000"), Some(2000.0));
        assert_eq!(value("1,250,000"), Some(1_250_000.0));
        assert_eq!(value("3.5"), Some(3.5));
        assert_eq!(value("1,5"), Some(1.5));
        assert_eq!(value("1.2k"), Some(1200.0));
        assert_eq!(value("$12m"), Some(12e6));
        assert_eq!(value("€3.5bn"), Some(3.5e9));
        assert_eq!(value("20%"), None);
        assert_eq!(value("q3"), None);
        assert_eq!(value("1.2.3"), None);
        assert_eq!(number("500+").map(|n| n.qualifier), Some(Qualifier::Bound));
        assert_eq!(number("~300").map(|n| n.qualifier), Some(Qualifier::About));
        assert_eq!(number("$5").map(|n| n.marked), Some(true));
        assert_eq!(number("2015").map(|n| n.marked), Some(false));
    }

    #[test]
    fn reads_qualifiers_from_the_words_before() {
        let words: Vec<String> = "more than 500 about 40 up to 9 más de 3"
            .split(' ')
            .map(str::to_owned)
            .collect();
        assert_eq!(qualifier_before(&words, 2), Qualifier::Bound);
        assert_eq!(qualifier_before(&words, 4), Qualifier::About);
        assert_eq!(qualifier_before(&words, 7), Qualifier::Bound);
        assert_eq!(qualifier_before(&words, 10), Qualifier::Bound);
        assert_eq!(qualifier_before(&words, 0), Qualifier::Exact);
    }
}
