//! Dates: "today", "tomorrow", "this evening", "in two days", weekdays,
//! "24/11", "November 24", ISO dates; "hoy", "mañana", "pasado mañana",
//! "esta noche", "en dos días", "el sábado", "24 de noviembre".

use chrono::{Datelike as _, Days, NaiveDate, Weekday};

use super::text::{number, number_at};

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

const MESES: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];

/// After "this" / "esta": a part of today.
const PARTS_OF_DAY: &[&str] = &[
    "morning",
    "afternoon",
    "evening",
    "mañana",
    "manana",
    "tarde",
    "noche",
];

/// A day and month that passed less than this many days ago is read as
/// this year's — a mistake the gate asks about — not as next year's.
const RECENT_PAST_DAYS: i64 = 31;

/// The date and its confidence, relative to `today`.
pub fn date(tokens: &[String], today: NaiveDate) -> Option<(NaiveDate, f64)> {
    let after_days = |days: u64| today.checked_add_days(Days::new(days)).map(|d| (d, 0.95));
    for (i, t) in tokens.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| tokens[j].as_str());
        let next = tokens.get(i + 1).map(String::as_str);
        let found = match t.as_str() {
            "today" | "tonight" | "tonite" | "hoy" => Some((today, 0.95)),
            "this" | "esta" if next.is_some_and(|n| PARTS_OF_DAY.contains(&n)) => {
                Some((today, 0.95))
            }
            "tomorrow" | "tmrw" | "tomorow" => {
                let after = i >= 2 && tokens[i - 2] == "day" && prev == Some("after");
                after_days(if after { 2 } else { 1 })
            }
            // "mañana" is tomorrow, but "por la mañana" is the morning.
            "mañana" | "manana" if prev != Some("la") && prev != Some("esta") => {
                after_days(if prev == Some("pasado") { 2 } else { 1 })
            }
            "in" | "en" => in_days(tokens, i, today).map(|d| (d, 0.9)),
            _ => iso(t)
                .or_else(|| numeric(t, today))
                .map(|d| (d, 0.95))
                .or_else(|| month_day(tokens, i, today).map(|d| (d, 0.9)))
                .or_else(|| weekday(t).map(|w| (next_weekday(today, w), 0.9))),
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// "in two days", "in 3 weeks", "en dos días" (the word after `i`).
fn in_days(tokens: &[String], i: usize, today: NaiveDate) -> Option<NaiveDate> {
    let (n, used) = number_at(tokens, i + 1)?;
    let days = match tokens.get(i + 1 + used)?.as_str() {
        "day" | "days" | "dia" | "dias" => n,
        "week" | "weeks" | "semana" | "semanas" => n.checked_mul(7)?,
        _ => return None,
    };
    today.checked_add_days(Days::new(u64::from(days)))
}

/// `2026-11-24`.
fn iso(t: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()
}

/// `24/11` or `24/11/2026` (day first, as in the restaurant's locale).
fn numeric(t: &str, today: NaiveDate) -> Option<NaiveDate> {
    let parts: Vec<&str> = t.split('/').collect();
    let num = |s: &str| s.parse::<u32>().ok();
    match parts.as_slice() {
        [d, m] => upcoming(num(m)?, num(d)?, today),
        [d, m, y] => {
            let y = i32::try_from(num(y)?).ok()?;
            let y = if y < 100 { 2000 + y } else { y };
            NaiveDate::from_ymd_opt(y, num(m)?, num(d)?)
        }
        _ => None,
    }
}

/// "November 24", "nov 24th", "24 November", "the 24th of November",
/// "24 de noviembre".
fn month_day(tokens: &[String], i: usize, today: NaiveDate) -> Option<NaiveDate> {
    let month = month(&tokens[i])?;
    let day_at = |j: usize| tokens.get(j).and_then(|t| ordinal(t));
    let day = day_at(i + 1)
        .or_else(|| i.checked_sub(1).and_then(day_at))
        .or_else(|| {
            // "24th of November", "24 de noviembre"
            (i >= 2 && (tokens[i - 1] == "of" || tokens[i - 1] == "de"))
                .then(|| day_at(i - 2))
                .flatten()
        })?;
    upcoming(month, day, today)
}

fn month(t: &str) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| *m == t || (t.len() >= 3 && m.starts_with(t)))
        .or_else(|| MESES.iter().position(|m| *m == t))
        .and_then(|p| u32::try_from(p + 1).ok())
}

/// `24`, `24th`, `1st`, `twenty`…
fn ordinal(t: &str) -> Option<u32> {
    let digits = t.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let n = if digits.is_empty() {
        number(t)?
    } else {
        digits.parse().ok()?
    };
    (1..=31).contains(&n).then_some(n)
}

/// The next `month`/`day` on or after `today` (this year or next); a day
/// that passed within the last month stays this year's: "November 20" said
/// on the 23rd is a mistake to ask about, not a booking eleven months ahead.
fn upcoming(month: u32, day: u32, today: NaiveDate) -> Option<NaiveDate> {
    let this_year = NaiveDate::from_ymd_opt(today.year(), month, day)?;
    if this_year >= today || (today - this_year).num_days() < RECENT_PAST_DAYS {
        Some(this_year)
    } else {
        NaiveDate::from_ymd_opt(today.year() + 1, month, day)
    }
}

fn weekday(t: &str) -> Option<Weekday> {
    let spanish = [
        ("lunes", Weekday::Mon),
        ("martes", Weekday::Tue),
        ("miercoles", Weekday::Wed),
        ("jueves", Weekday::Thu),
        ("viernes", Weekday::Fri),
        ("sabado", Weekday::Sat),
        ("domingo", Weekday::Sun),
    ];
    if let Some((_, w)) = spanish.into_iter().find(|(name, _)| *name == t) {
        return Some(w);
    }
    let full = t.trim_end_matches('s'); // "on fridays" still means the next one
    [
        ("monday", Weekday::Mon),
        ("tuesday", Weekday::Tue),
        ("wednesday", Weekday::Wed),
        ("thursday", Weekday::Thu),
        ("friday", Weekday::Fri),
        ("saturday", Weekday::Sat),
        ("sunday", Weekday::Sun),
    ]
    .into_iter()
    .find(|(name, _)| *name == full || ((3..=4).contains(&full.len()) && name.starts_with(full)))
    .map(|(_, w)| w)
}

/// The next `weekday` strictly after `today`: said on a Friday, "Friday"
/// means next week ("tonight" is how guests say today).
fn next_weekday(today: NaiveDate, weekday: Weekday) -> NaiveDate {
    let ahead = (7 + weekday.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
    let ahead = if ahead == 0 { 7 } else { ahead };
    today + Days::new(u64::from(ahead))
}
