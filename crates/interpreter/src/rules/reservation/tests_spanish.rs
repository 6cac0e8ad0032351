//! Spanish phrasings, against the same frozen reference time as
//! [`super::tests`]: Monday 23 November 2026, 18:00 in Madrid.

use serde_json::{Value, json};

use super::tests::extract;

#[test]
fn spanish_phrasings() {
    let n = Value::Null;
    let table: &[(&str, Value, Value, Value)] = &[
        (
            "Una mesa para dos mañana a las nueve y media",
            json!(2),
            json!("2026-11-24"),
            json!("21:30"),
        ),
        (
            "somos 5, pasado mañana a la una",
            json!(5),
            json!("2026-11-25"),
            json!("13:00"),
        ),
        (
            "reserva para tres el 24 de noviembre a las 21:00",
            json!(3),
            json!("2026-11-24"),
            json!("21:00"),
        ),
        (
            "¿Tenéis mesa para cuatro personas el viernes a las diez menos cuarto?",
            json!(4),
            json!("2026-11-27"),
            json!("21:45"),
        ),
        (
            "mañana por la tarde a las 8, 6 comensales",
            json!(6),
            json!("2026-11-24"),
            json!("20:00"),
        ),
        (
            "Para dos a las nueve, esta noche",
            json!(2),
            json!("2026-11-23"),
            json!("21:00"),
        ),
        (
            "mesa para veintidós el miércoles al mediodía",
            json!(22),
            json!("2026-11-25"),
            json!("12:00"),
        ),
        (
            "el domingo a las 9 de la mañana, una persona",
            json!(1),
            json!("2026-11-29"),
            json!("09:00"),
        ),
        (
            "en dos días, grupo de 8, a las 14:30",
            json!(8),
            json!("2026-11-25"),
            json!("14:30"),
        ),
        ("Hola, ¿qué tal?", n.clone(), n.clone(), n.clone()),
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
