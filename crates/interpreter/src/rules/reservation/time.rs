//! Times: "21:00", "9pm", "9 pm", "nine", "at 9", "half past eight", "noon";
//! "a las nueve", "a las 9 y media", "a la una", "de la noche", "mediodía".
//!
//! A bare hour ("at nine") is ambiguous between morning and evening. It is
//! resolved by the restaurant's opening hours, with a lower confidence than
//! an explicit time, so the gate can tell a guess from a reading.

use chrono::NaiveTime;

use super::text::number_at;
use crate::rules::OpeningHours;

/// Confidence of a time the guest spelled out (`21:00`, `9pm`).
const EXPLICIT: f64 = 0.95;
/// Confidence of a bare hour made definite by a word ("in the evening").
const MARKED: f64 = 0.9;
/// Confidence of a bare hour that only one reading fits the opening hours.
const BY_OPENING_HOURS: f64 = 0.8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Half {
    Am,
    Pm,
}

/// The time and its confidence.
pub fn time(tokens: &[String], hours: Option<OpeningHours>) -> Option<(NaiveTime, f64)> {
    let marker = day_half(tokens);
    for i in 0..tokens.len() {
        if let Some(found) = at_token(tokens, i) {
            return resolve(found, marker, hours);
        }
    }
    None
}

/// A reading at token `i`: hour, minute, and whether it was definite.
#[derive(Debug, Clone, Copy)]
struct Reading {
    hour: u32,
    minute: u32,
    half: Option<Half>,
    clock24: bool,
}

fn at_token(tokens: &[String], i: usize) -> Option<Reading> {
    let t = tokens[i].as_str();
    let next = tokens.get(i + 1).map(String::as_str);
    let prev = i.checked_sub(1).map(|j| tokens[j].as_str());
    match t {
        "noon" | "midday" | "mediodia" => return Some(reading(12, 0, Some(Half::Pm))),
        "midnight" | "medianoche" => return Some(reading(0, 0, Some(Half::Am))),
        "half" | "quarter" if matches!(next, Some("past" | "to")) => {
            let (hour, used) = number_at(tokens, i + 2)?;
            if !(1..=12).contains(&hour) {
                return None;
            }
            let r = match (t, next) {
                ("half", Some("past")) => reading(hour, 30, None),
                ("quarter", Some("past")) => reading(hour, 15, None),
                ("quarter", Some("to")) => reading(if hour == 1 { 12 } else { hour - 1 }, 45, None),
                _ => return None,
            };
            return Some(Reading {
                half: half_after(tokens, i + 2 + used),
                ..r
            });
        }
        _ => {}
    }
    if let Some(r) = with_suffix(t) {
        return Some(r);
    }
    if let Some((hour, minute)) = clock(t) {
        let half = half_after(tokens, i + 1);
        let definite = hour > 12 || hour == 0;
        return Some(Reading {
            clock24: definite,
            ..reading(hour, minute, half)
        });
    }
    let (hour, used) = number_at(tokens, i)?;
    let (hour, minute, used) = spanish_minutes(tokens, i + used, hour, used);
    let after = tokens.get(i + used).map(String::as_str);
    let half = half_after(tokens, i + used);
    // "a las nueve", "a la una", "sobre las 9", "hacia las 10".
    let leading = matches!(
        prev,
        Some("at" | "around" | "about" | "by" | "from" | "before" | "las" | "la")
    );
    let oclock = matches!(after, Some("o'clock" | "oclock"));
    ((half.is_some() || leading || oclock) && (1..=12).contains(&hour))
        .then(|| reading(hour, minute, half))
}

/// "nueve y media", "nueve y cuarto", "nueve menos cuarto" after an hour
/// read from the tokens before `j`: the hour, minutes and tokens used.
fn spanish_minutes(tokens: &[String], j: usize, hour: u32, used: usize) -> (u32, u32, usize) {
    let word = |k: usize| tokens.get(j + k).map(String::as_str);
    match (word(0), word(1)) {
        (Some("y"), Some("media")) => (hour, 30, used + 2),
        (Some("y"), Some("cuarto")) => (hour, 15, used + 2),
        (Some("menos"), Some("cuarto")) if hour > 1 => (hour - 1, 45, used + 2),
        (Some("menos"), Some("cuarto")) => (12, 45, used + 2),
        _ => (hour, 0, used),
    }
}

fn reading(hour: u32, minute: u32, half: Option<Half>) -> Reading {
    Reading {
        hour,
        minute,
        half,
        clock24: false,
    }
}

/// `21:00`, `9:30`, `8.30`, `21h30`.
fn clock(t: &str) -> Option<(u32, u32)> {
    let (h, m) = t
        .split_once(':')
        .or_else(|| t.split_once('.'))
        .or_else(|| t.split_once('h'))?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(h) || !(all_digits(m) && m.len() == 2 || m.is_empty() && t.ends_with('h')) {
        return None;
    }
    let (hour, minute) = (
        h.parse().ok()?,
        if m.is_empty() { 0 } else { m.parse().ok()? },
    );
    (hour < 24 && minute < 60).then_some((hour, minute))
}

/// `9pm`, `9am`, `9.30pm`, `21h`.
fn with_suffix(t: &str) -> Option<Reading> {
    let (body, half) = if let Some(b) = t.strip_suffix("pm") {
        (b, Half::Pm)
    } else if let Some(b) = t.strip_suffix("am") {
        (b, Half::Am)
    } else if let Some(b) = t.strip_suffix('h') {
        let hour: u32 = b.parse().ok()?;
        return (hour < 24).then(|| Reading {
            clock24: true,
            ..reading(hour, 0, None)
        });
    } else {
        return None;
    };
    let (hour, minute) = clock(body).or_else(|| Some((body.parse().ok()?, 0)))?;
    (1..=12)
        .contains(&hour)
        .then(|| reading(hour, minute, Some(half)))
}

/// "pm", "p m" (from "p.m."), "am" after a number.
fn half_after(tokens: &[String], i: usize) -> Option<Half> {
    match tokens.get(i).map(String::as_str) {
        Some("pm") => Some(Half::Pm),
        Some("am") => Some(Half::Am),
        Some("p") if tokens.get(i + 1).is_some_and(|t| t == "m") => Some(Half::Pm),
        Some("a") if tokens.get(i + 1).is_some_and(|t| t == "m") => Some(Half::Am),
        _ => None,
    }
}

/// Words anywhere in the message that say which half of the day is meant.
fn day_half(tokens: &[String]) -> Option<Half> {
    let has = |words: &[&str]| tokens.iter().any(|t| words.contains(&t.as_str()));
    // "mañana" alone is tomorrow; "por la mañana", "de la mañana" the morning.
    let la_manana = tokens
        .windows(2)
        .any(|w| w[0] == "la" && (w[1] == "mañana" || w[1] == "manana"));
    let evening = [
        "evening",
        "afternoon",
        "night",
        "tonight",
        "tonite",
        "dinner",
        "supper",
        "noche",
        "tarde",
        "cena",
        "cenar",
    ];
    if has(&evening) {
        Some(Half::Pm)
    } else if la_manana || has(&["morning", "breakfast", "desayuno", "desayunar"]) {
        Some(Half::Am)
    } else {
        None
    }
}

fn resolve(
    r: Reading,
    marker: Option<Half>,
    hours: Option<OpeningHours>,
) -> Option<(NaiveTime, f64)> {
    let at = |h: u32| NaiveTime::from_hms_opt(h, r.minute, 0);
    if r.clock24 {
        return at(r.hour).map(|t| (t, EXPLICIT));
    }
    let (am, pm) = (at(r.hour % 12)?, at(r.hour % 12 + 12)?);
    if let Some(half) = r.half {
        return Some((if half == Half::Pm { pm } else { am }, EXPLICIT));
    }
    if let Some(half) = marker {
        return Some((if half == Half::Pm { pm } else { am }, MARKED));
    }
    let Some(hours) = hours else {
        return Some((pm, 0.5));
    };
    Some(match (hours.contains(am), hours.contains(pm)) {
        (true, false) => (am, BY_OPENING_HOURS),
        (false, true) => (pm, BY_OPENING_HOURS),
        (true, true) => (pm, 0.6),
        (false, false) => (pm, 0.5),
    })
}
