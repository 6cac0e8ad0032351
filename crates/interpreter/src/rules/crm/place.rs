//! `hq_city` and `hq_country`: where the account says its head office is
//! ("headquartered in Munich, Germany", "based in Lyon", "HQ: Austin",
//! "con sede en Valencia", "mit Sitz in Hamburg"). Places the text merely
//! mentions ("customers in France") are not read.

use super::Finding;
use super::text::Sentence;

/// What introduces the head office, as lower-case words.
const LEADS: &[&[&str]] = &[
    &["headquartered", "in"],
    &["headquarters", "in"],
    &["headquarters", "are", "in"],
    &["headquarters", "is", "in"],
    &["hq", "in"],
    &["hq", "is", "in"],
    &["hq"],
    &["based", "in"],
    &["head", "office", "in"],
    &["head", "office", "is", "in"],
    &["main", "office", "in"],
    &["sitz", "in"],
    &["hauptsitz", "in"],
    &["sede", "en"],
    &["sede", "central", "en"],
    &["siège", "à"],
    &["siège", "social", "à"],
    &["basée", "à"],
    &["basé", "à"],
];

/// Known cities: the names they are written with, the name recorded, the
/// country (ISO 3166-1 alpha-2).
const CITIES: &[(&[&str], &str, &str)] = &[
    (&["berlin"], "Berlin", "DE"),
    (&["munich", "münchen"], "Munich", "DE"),
    (&["hamburg"], "Hamburg", "DE"),
    (&["frankfurt"], "Frankfurt", "DE"),
    (&["cologne", "köln"], "Cologne", "DE"),
    (&["madrid"], "Madrid", "ES"),
    (&["barcelona"], "Barcelona", "ES"),
    (&["valencia"], "Valencia", "ES"),
    (&["seville", "sevilla"], "Seville", "ES"),
    (&["paris"], "Paris", "FR"),
    (&["lyon"], "Lyon", "FR"),
    (&["london"], "London", "GB"),
    (&["manchester"], "Manchester", "GB"),
    (&["edinburgh"], "Edinburgh", "GB"),
    (&["amsterdam"], "Amsterdam", "NL"),
    (&["rotterdam"], "Rotterdam", "NL"),
    (&["milan", "milano"], "Milan", "IT"),
    (&["rome", "roma"], "Rome", "IT"),
    (&["lisbon", "lisboa"], "Lisbon", "PT"),
    (&["stockholm"], "Stockholm", "SE"),
    (&["dublin"], "Dublin", "IE"),
    (&["zurich", "zürich"], "Zurich", "CH"),
    (&["vienna", "wien"], "Vienna", "AT"),
    (&["warsaw", "warszawa"], "Warsaw", "PL"),
    (&["copenhagen", "københavn"], "Copenhagen", "DK"),
    (&["oslo"], "Oslo", "NO"),
    (&["helsinki"], "Helsinki", "FI"),
    (&["brussels", "bruxelles"], "Brussels", "BE"),
    (&["new york"], "New York", "US"),
    (&["san francisco"], "San Francisco", "US"),
    (&["austin"], "Austin", "US"),
    (&["boston"], "Boston", "US"),
    (&["chicago"], "Chicago", "US"),
    (&["seattle"], "Seattle", "US"),
    (&["toronto"], "Toronto", "CA"),
    (&["mexico city", "ciudad de méxico"], "Mexico City", "MX"),
    (&["são paulo", "sao paulo"], "São Paulo", "BR"),
    (&["bangalore", "bengaluru"], "Bangalore", "IN"),
    (&["tokyo"], "Tokyo", "JP"),
    (&["sydney"], "Sydney", "AU"),
];

/// Countries by the names they are written with (lower case).
const COUNTRIES: &[(&[&str], &str)] = &[
    (&["germany", "deutschland", "alemania", "allemagne"], "DE"),
    (&["spain", "españa", "espagne", "spanien"], "ES"),
    (&["france", "frankreich", "francia"], "FR"),
    (
        &[
            "united kingdom",
            "uk",
            "england",
            "scotland",
            "great britain",
        ],
        "GB",
    ),
    (
        &["united states", "usa", "estados unidos", "états-unis"],
        "US",
    ),
    (
        &["netherlands", "the netherlands", "holland", "niederlande"],
        "NL",
    ),
    (&["italy", "italia", "italien"], "IT"),
    (&["portugal"], "PT"),
    (&["sweden", "sverige"], "SE"),
    (&["ireland"], "IE"),
    (&["switzerland", "schweiz", "suisse"], "CH"),
    (&["austria", "österreich"], "AT"),
    (&["poland", "polska"], "PL"),
    (&["denmark", "danmark"], "DK"),
    (&["norway", "norge"], "NO"),
    (&["finland", "suomi"], "FI"),
    (&["belgium", "belgique", "belgië"], "BE"),
    (&["canada"], "CA"),
    (&["mexico", "méxico"], "MX"),
    (&["brazil", "brasil"], "BR"),
    (&["india"], "IN"),
    (&["japan"], "JP"),
    (&["australia"], "AU"),
];

/// The head office `sentence` states: city and country findings.
pub fn findings(sentence: &Sentence) -> (Vec<Finding>, Vec<Finding>) {
    let (mut cities, mut countries) = (Vec::new(), Vec::new());
    for end in lead_ends(&sentence.words) {
        // "based in the US", "HQ in the Netherlands".
        let at = end + usize::from(sentence.words.get(end).is_some_and(|w| w == "the"));
        let words = &sentence.words[at..];
        if let Some((len, name, code)) = known_city(words) {
            match country(&sentence.raw[at + len..], &words[len..]) {
                Some(stated) if stated != code => {
                    // "Munich, France": one of them is wrong.
                    cities.push(Finding::new(name, 0.5, sentence).contradicted());
                    countries.push(Finding::new(stated, 0.5, sentence).contradicted());
                }
                Some(_) => {
                    cities.push(Finding::new(name, 0.95, sentence));
                    countries.push(Finding::new(code, 0.95, sentence));
                }
                None => {
                    cities.push(Finding::new(name, 0.9, sentence));
                    countries.push(Finding::new(code, 0.85, sentence));
                }
            }
        } else if let Some(code) = country(&sentence.raw[at..], words) {
            countries.push(Finding::new(code, 0.9, sentence));
        } else if let Some((len, name)) = unknown_city(&sentence.raw[at..], words) {
            // A name the table does not know: plausible, for a person to confirm.
            cities.push(Finding::new(name, 0.6, sentence));
            if let Some(code) = country(&sentence.raw[at + len..], &words[len..]) {
                countries.push(Finding::new(code, 0.9, sentence));
            }
        }
    }
    (cities, countries)
}

/// The positions right after each head-office lead in `words`.
fn lead_ends(words: &[String]) -> Vec<usize> {
    let mut out = Vec::new();
    for start in 0..words.len() {
        let longest = LEADS
            .iter()
            .filter(|lead| {
                words.len() > start + lead.len()
                    && words[start..start + lead.len()]
                        .iter()
                        .zip(lead.iter())
                        .all(|(w, l)| w == l)
            })
            .map(|lead| lead.len())
            .max();
        if let Some(len) = longest {
            out.push(start + len);
        }
    }
    out
}

/// A known city at the start of `words`: its length in words, name, country.
fn known_city(words: &[String]) -> Option<(usize, &'static str, &'static str)> {
    CITIES.iter().find_map(|(spellings, name, code)| {
        spellings
            .iter()
            .find_map(|s| starts_with(words, s))
            .map(|len| (len, *name, *code))
    })
}

/// A country at the start: by name, or the capitals `US` / `USA` / `UK`
/// (lower-case "us" is a pronoun).
fn country(raw: &[String], words: &[String]) -> Option<&'static str> {
    match raw.first().map(String::as_str) {
        Some("US" | "USA") => return Some("US"),
        Some("UK") => return Some("GB"),
        _ => {}
    }
    COUNTRIES.iter().find_map(|(names, code)| {
        names
            .iter()
            .filter(|n| !matches!(**n, "uk" | "usa"))
            .find_map(|n| starts_with(words, n))
            .map(|_| *code)
    })
}

/// One to three capitalised words (`Bad Homburg`) up to a country name,
/// as written.
fn unknown_city(raw: &[String], words: &[String]) -> Option<(usize, String)> {
    let capitalised = |w: &String| {
        w.chars().next().is_some_and(char::is_uppercase)
            && w.chars()
                .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
    };
    let len = (0..raw.len().min(3))
        .take_while(|&k| {
            capitalised(&raw[k]) && (k == 0 || country(&raw[k..], &words[k..]).is_none())
        })
        .count();
    (len > 0).then(|| (len, raw[..len].join(" ")))
}

/// The length in words of `phrase` if `words` starts with it.
fn starts_with(words: &[String], phrase: &str) -> Option<usize> {
    let want: Vec<&str> = phrase.split(' ').collect();
    (words.len() >= want.len() && words.iter().zip(&want).all(|(w, p)| w == p))
        .then_some(want.len())
}
