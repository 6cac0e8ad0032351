//! Tokens and number words for the reservation extractor.

/// Lower-cased word tokens with the acute accents and diaeresis of Spanish
/// folded (`sábado` → `sabado`; `ñ` stays). Punctuation separates words,
/// except `:` `/` and a `.` or `-` between two digits (so `21:00`, `24/11`,
/// `8.30` and `2026-11-24` stay whole); apostrophes stay inside words
/// (`o'clock`).
pub fn tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.to_lowercase().chars().map(fold).collect();
    let mut out = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let digit_at = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(char::is_ascii_digit)
        };
        let between_digits = digit_at(i.checked_sub(1)) && digit_at(Some(i + 1));
        let keep = c.is_alphanumeric()
            || c == ':'
            || c == '/'
            || c == '\''
            || c == '’'
            || ((c == '.' || c == '-') && between_digits);
        if keep {
            word.push(if c == '’' { '\'' } else { c });
        } else if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn fold(c: char) -> char {
    match c {
        'á' => 'a',
        'é' => 'e',
        'í' => 'i',
        'ó' => 'o',
        'ú' | 'ü' => 'u',
        other => other,
    }
}

const UNITS: [&str; 21] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
];

/// Spanish number words up to twenty, accents folded.
const UNIDADES: [&str; 21] = [
    "cero",
    "uno",
    "dos",
    "tres",
    "cuatro",
    "cinco",
    "seis",
    "siete",
    "ocho",
    "nueve",
    "diez",
    "once",
    "doce",
    "trece",
    "catorce",
    "quince",
    "dieciseis",
    "diecisiete",
    "dieciocho",
    "diecinueve",
    "veinte",
];

/// A small whole number written in digits or in English or Spanish words
/// (`4`, `four`, `cuatro`, `veintidos`).
pub fn number(token: &str) -> Option<u32> {
    if !token.is_empty() && token.len() <= 4 && token.bytes().all(|b| b.is_ascii_digit()) {
        return token.parse().ok();
    }
    let word = |list: &[&str]| {
        list.iter()
            .position(|w| *w == token)
            .and_then(|n| u32::try_from(n).ok())
    };
    match token {
        "thirty" | "treinta" => Some(30),
        "forty" | "cuarenta" => Some(40),
        "fifty" | "cincuenta" => Some(50),
        // "una mesa" is an article as much as a number: only where a
        // number is expected ("una persona", "a la una") is it read.
        "una" | "un" => Some(1),
        _ => word(&UNITS).or_else(|| word(&UNIDADES)).or_else(|| {
            // veintiuno … veintinueve
            let unit = token.strip_prefix("veinti")?;
            let n = UNIDADES[1..10].iter().position(|w| *w == unit)?;
            u32::try_from(n + 21).ok()
        }),
    }
}

/// A number spread over one or two tokens (`twenty two`), with the tokens used.
pub fn number_at(tokens: &[String], i: usize) -> Option<(u32, usize)> {
    let first = number(tokens.get(i)?)?;
    if matches!(first, 20 | 30 | 40 | 50)
        && let Some(unit) = tokens.get(i + 1).and_then(|t| number(t))
        && (1..=9).contains(&unit)
        && !tokens[i + 1].bytes().all(|b| b.is_ascii_digit())
    {
        return Some((first + unit, 2));
    }
    Some((first, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_times_dates_and_apostrophes_whole() {
        assert_eq!(
            tokens("At 21:00, 24/11 or 2026-11-24; nine o’clock. 8.30!"),
            [
                "at",
                "21:00",
                "24/11",
                "or",
                "2026-11-24",
                "nine",
                "o'clock",
                "8.30"
            ]
        );
    }

    #[test]
    fn numbers_in_digits_and_words() {
        assert_eq!(number("four"), Some(4));
        assert_eq!(number("12"), Some(12));
        assert_eq!(number("table"), None);
        assert_eq!(number("cuatro"), Some(4));
        assert_eq!(number("veintidos"), Some(22));
        assert_eq!(number("veinti"), None);
        assert_eq!(
            tokens("Sábado, mañana; DIECISÉIS"),
            ["sabado", "mañana", "dieciseis"]
        );
        let t = tokens("twenty two people");
        assert_eq!(number_at(&t, 0), Some((22, 2)));
    }
}
