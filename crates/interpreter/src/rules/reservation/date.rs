//! Dates: "today", "tomorrow", weekdays, "24/11", "November 24", ISO dates.

use chrono::{Datelike as _, Days, NaiveDate, Weekday};

use super::text::number;

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

/// The date and its confidence, relative to `today`.
pub fn date(tokens: &[String], today: NaiveDate) -> Option<(NaiveDate, f64)> {
    for (i, t) in tokens.iter().enumerate() {
        let found = match t.as_str() {
            "today" | "tonight" | "tonite" => Some((today, 0.95)),
            "tomorrow" | "tmrw" | "tomorow" => {
                let after = i >= 2 && tokens[i - 2] == "day" && tokens[i - 1] == "after";
                let days = if after { 2 } else { 1 };
                today.checked_add_days(Days::new(days)).map(|d| (d, 0.95))
            }
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

/// "November 24", "nov 24th", "24 November", "the 24th of November".
fn month_day(tokens: &[String], i: usize, today: NaiveDate) -> Option<NaiveDate> {
    let month = month(&tokens[i])?;
    let day_at = |j: usize| tokens.get(j).and_then(|t| ordinal(t));
    let day = day_at(i + 1)
        .or_else(|| i.checked_sub(1).and_then(day_at))
        .or_else(|| {
            // "24th of November"
            (i >= 2 && tokens[i - 1] == "of")
                .then(|| day_at(i - 2))
                .flatten()
        })?;
    upcoming(month, day, today)
}

fn month(t: &str) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| *m == t || (t.len() >= 3 && m.starts_with(t)))
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

/// The next `month`/`day` on or after `today` (this year or next).
fn upcoming(month: u32, day: u32, today: NaiveDate) -> Option<NaiveDate> {
    let this_year = NaiveDate::from_ymd_opt(today.year(), month, day)?;
    if this_year >= today {
        Some(this_year)
    } else {
        NaiveDate::from_ymd_opt(today.year() + 1, month, day)
    }
}

fn weekday(t: &str) -> Option<Weekday> {
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
