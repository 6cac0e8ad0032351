//! The name a guest introduces themselves by: "this is Carlos", "my name
//! is Ana Pérez", "under the name of Li", "me llamo Lucía", "a nombre de
//! Marta". Only capitalised words directly after the introduction, in the
//! same clause, count: "this is urgent" introduces nobody.

/// Introductions, lower-case, word by word.
const INTRODUCTIONS: &[&[&str]] = &[
    &["my", "name", "is"],
    &["this", "is"],
    &["under", "the", "name", "of"],
    &["under", "the", "name"],
    &["in", "the", "name", "of"],
    &["me", "llamo"],
    &["mi", "nombre", "es"],
    &["a", "nombre", "de"],
    &["soy"],
];

/// The longest name read: given name and up to two surnames.
const MAX_WORDS: usize = 3;

/// The name the message introduces, if any, as written.
pub fn introduced(text: &str) -> Option<String> {
    for clause in text.split(['.', ',', ';', ':', '!', '?', '\n', '(', ')']) {
        let words: Vec<&str> = clause.split_whitespace().collect();
        for start in 0..words.len() {
            for intro in INTRODUCTIONS {
                let Some(after) = words.get(start..start + intro.len()) else {
                    continue;
                };
                if !after
                    .iter()
                    .zip(*intro)
                    .all(|(w, i)| w.eq_ignore_ascii_case(i))
                {
                    continue;
                }
                let name: Vec<&str> = words[start + intro.len()..]
                    .iter()
                    .take_while(|w| is_name_word(w))
                    .take(MAX_WORDS)
                    .copied()
                    .collect();
                if !name.is_empty() {
                    return Some(name.join(" "));
                }
            }
        }
    }
    None
}

/// A capitalised word of letters (and inner hyphens): `Ana`, `Pérez`,
/// `Jean-Luc`; not `Ana's`, `I`, `4`.
fn is_name_word(word: &str) -> bool {
    let mut chars = word.chars();
    chars.next().is_some_and(char::is_uppercase)
        && word.chars().count() >= 2
        && chars.all(|c| c.is_alphabetic() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::introduced;

    #[test]
    fn introductions_give_the_name_as_written() {
        let table = [
            ("Hi, this is Carlos. Table for 2", Some("Carlos")),
            ("my name is Ana Pérez and we are 4", Some("Ana Pérez")),
            ("book it under the name of Jean-Luc", Some("Jean-Luc")),
            ("Hola, me llamo Lucía, mesa para dos", Some("Lucía")),
            (
                "reserva a nombre de Marta García López Ruiz",
                Some("Marta García López"),
            ),
            ("this is urgent: table for 2", None),
            ("This is Ana's birthday dinner", None),
            ("table for 4 tomorrow at nine", None),
            ("this is\nCarlos", None),
        ];
        for (text, want) in table {
            assert_eq!(introduced(text).as_deref(), want, "{text:?}");
        }
    }
}
