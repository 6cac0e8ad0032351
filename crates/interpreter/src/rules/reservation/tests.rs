//! The phrasing table, against a frozen reference time:
//! Monday 23 November 2026, 18:00 in Madrid.

use chrono::{NaiveTime, TimeZone as _};
use chrono_tz::Europe::Madrid;
use serde_json::{Value, json};

use super::ReservationExtractor;
use crate::rules::{ExtractInput, Extractor as _, OpeningHours};

pub(super) fn extract(text: &str) -> (Value, Value, Value) {
    let payload = json!({"id": "wamid.1", "from": "+34600000001", "name": "Ana", "text": text});
    let hours = OpeningHours {
        open: NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default(),
        close: NaiveTime::from_hms_opt(23, 30, 0).unwrap_or_default(),
    };
    let now = Madrid
        .with_ymd_and_hms(2026, 11, 23, 18, 0, 0)
        .single()
        .unwrap_or_else(|| panic!("frozen time"));
    let input = ExtractInput {
        source: "whatsapp",
        payload: &payload,
        now,
        opening_hours: Some(hours),
    };
    let out = ReservationExtractor.extract(&input).contract;
    let get = |k: &str| out.get(k).cloned().unwrap_or(Value::Null);
    (get("party_size"), get("date"), get("time"))
}

#[test]
fn phrasings() {
    let n = Value::Null;
    let table: &[(&str, Value, Value, Value)] = &[
        (
            "I would like a table for four tomorrow at nine.",
            json!(4),
            json!("2026-11-24"),
            json!("21:00"),
        ),
        (
            "table for 4 tomorrow at 9pm",
            json!(4),
            json!("2026-11-24"),
            json!("21:00"),
        ),
        (
            "A party of 6 on Friday at 21:00",
            json!(6),
            json!("2026-11-27"),
            json!("21:00"),
        ),
        (
            "for two tonight at 8",
            json!(2),
            json!("2026-11-23"),
            json!("20:00"),
        ),
        (
            "4 people, 24/11 at 9 pm",
            json!(4),
            json!("2026-11-24"),
            json!("21:00"),
        ),
        (
            "Can we book for 3 on November 24 at half past eight?",
            json!(3),
            json!("2026-11-24"),
            json!("20:30"),
        ),
        (
            "We are five, 2026-12-01, 13:30",
            json!(5),
            json!("2026-12-01"),
            json!("13:30"),
        ),
        (
            "table for 2 today at noon",
            json!(2),
            json!("2026-11-23"),
            json!("12:00"),
        ),
        (
            "three guests the day after tomorrow at 1",
            json!(3),
            json!("2026-11-25"),
            json!("13:00"),
        ),
        (
            "Could I get a table for eight on saturday at 10?",
            json!(8),
            json!("2026-11-28"),
            json!("22:00"),
        ),
        (
            "reservation for 10 on 5/12 at 7.30pm",
            json!(10),
            json!("2026-12-05"),
            json!("19:30"),
        ),
        (
            "We're two, monday at nine o'clock",
            json!(2),
            json!("2026-11-30"),
            json!("21:00"),
        ),
        (
            "a table tomorrow at nine",
            n.clone(),
            json!("2026-11-24"),
            json!("21:00"),
        ),
        ("four people", json!(4), n.clone(), n.clone()),
        (
            "Hi! 12 of us on the 1st of December at 2pm",
            json!(12),
            json!("2026-12-01"),
            json!("14:00"),
        ),
        (
            "table for 4 tomorrow at quarter to nine",
            json!(4),
            json!("2026-11-24"),
            json!("20:45"),
        ),
        (
            "book 2 persons for Sunday 20h30",
            json!(2),
            json!("2026-11-29"),
            json!("20:30"),
        ),
        (
            "Dinner for six on Wednesday around 8",
            json!(6),
            json!("2026-11-25"),
            json!("20:00"),
        ),
        (
            "Table for twenty two on December 31 at 21:30",
            json!(22),
            json!("2026-12-31"),
            json!("21:30"),
        ),
        (
            "lunch for 4 tomorrow at 1:30",
            json!(4),
            json!("2026-11-24"),
            json!("13:30"),
        ),
        (
            "tomorrow, 6 pax, 9:30 p.m.",
            json!(6),
            json!("2026-11-24"),
            json!("21:30"),
        ),
        ("Hello, how are you?", n.clone(), n.clone(), n.clone()),
        (
            "this afternoon at 3, we are 2",
            json!(2),
            json!("2026-11-23"),
            json!("15:00"),
        ),
        (
            "a table for 4 in 3 days at 20:00",
            json!(4),
            json!("2026-11-26"),
            json!("20:00"),
        ),
        (
            "for 6 in two weeks at 9pm",
            json!(6),
            json!("2026-12-07"),
            json!("21:00"),
        ),
        (
            "dinner for 2 at 9 in the evening",
            json!(2),
            n.clone(),
            json!("21:00"),
        ),
        (
            "table for 2 on 21/11 at 21:00",
            json!(2),
            json!("2026-11-21"),
            json!("21:00"),
        ),
        (
            "table for 2 on October 1 at 21:00",
            json!(2),
            json!("2027-10-01"),
            json!("21:00"),
        ),
        (
            "January 3 for a couple at 9pm",
            json!(2),
            json!("2027-01-03"),
            json!("21:00"),
        ),
    ];
    let mut failures = Vec::new();
    for (text, party, date, time) in table {
        let got = extract(text);
        if got != (party.clone(), date.clone(), time.clone()) {
            failures.push(format!("{text:?}: got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_bare_hour_is_less_certain_than_an_explicit_time() {
    let payload = |text: &str| json!({"id": "m", "from": "+34600000001", "text": text});
    let now = Madrid
        .with_ymd_and_hms(2026, 11, 23, 18, 0, 0)
        .single()
        .unwrap_or_else(|| panic!("frozen time"));
    let hours = OpeningHours {
        open: NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default(),
        close: NaiveTime::from_hms_opt(23, 30, 0).unwrap_or_default(),
    };
    let conf = |text: &str| {
        let p = payload(text);
        let input = ExtractInput {
            source: "whatsapp",
            payload: &p,
            now,
            opening_hours: Some(hours),
        };
        let out = ReservationExtractor.extract(&input);
        (
            out.field_confidence.get("time").copied().unwrap_or(0.0),
            super::confidence(&out),
            out,
        )
    };
    let (bare, overall, out) = conf("I would like a table for four tomorrow at nine.");
    let (explicit, _, _) = conf("table for four tomorrow at 21:00");
    assert!(bare < explicit, "{bare} vs {explicit}");
    assert!(
        overall >= 0.85,
        "the happy path still passes the auto threshold: {overall}"
    );
    assert_eq!(out.contract.get("sender"), Some(&json!("+34600000001")));
    assert_eq!(out.contract.get("action"), Some(&json!("create_booking")));
    assert!(
        out.contract.get("name").is_none(),
        "no name in the payload → omitted, not null"
    );
}
