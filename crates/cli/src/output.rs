//! Human output helpers: aligned tables, short durations, and the
//! `--since`/`--until` time flags.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use sluice_ledger::AuditRecord;

/// Writes `rows` under `header`, each column as wide as its widest cell,
/// separated by two spaces; the last column is not padded.
pub fn table(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let last = row.len().saturating_sub(1);
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if i == last {
                line.push_str(cell);
            } else {
                let pad = width.saturating_sub(cell.chars().count()) + 2;
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// An audit trail as a table: when, who, what, result, why.
pub fn audit_table(out: &mut impl Write, audit: &[AuditRecord]) -> std::io::Result<()> {
    let rows: Vec<Vec<String>> = audit
        .iter()
        .map(|a| {
            vec![
                instant(a.at),
                a.actor.clone(),
                a.action.clone(),
                a.result.clone(),
                a.reason.clone(),
            ]
        })
        .collect();
    table(out, &["AT", "WHO", "ACTION", "RESULT", "REASON"], &rows)
}

/// One audit record as JSON.
pub fn audit_json(a: &AuditRecord) -> Value {
    json!({
        "at": a.at, "actor": a.actor, "role": a.role, "action": a.action,
        "reason": a.reason, "result": a.result, "detail": a.detail,
    })
}

/// `2026-11-23 21:04:05Z`: seconds are enough for a table.
pub fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
        .replacen('T', " ", 1)
}

/// `850ms`, `4.21s`, `3m07s`, `2h05m`, `3d04h`.
pub fn duration(d: chrono::TimeDelta) -> String {
    let ms = d.num_milliseconds();
    if ms < 0 {
        return format!("-{}", duration(-d));
    }
    let s = ms / 1000;
    match s {
        _ if ms < 1000 => format!("{ms}ms"),
        0..60 => format!("{:.2}s", ms as f64 / 1000.0),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// Parses `--since`/`--until`: an RFC 3339 instant, or a duration before
/// now (`90s`, `15m`, `1h`, `2d`, `1w`).
pub fn parse_time(value: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(at.with_timezone(&Utc));
    }
    let ago = sluice_runtime::config::parse_duration(value).map_err(|_| {
        format!("{value:?} is neither an RFC 3339 time nor a duration like 90s, 15m, 1h, 2d")
    })?;
    let ago = chrono::TimeDelta::from_std(ago).map_err(|e| e.to_string())?;
    Ok(Utc::now() - ago)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        let ms = chrono::TimeDelta::milliseconds;
        assert_eq!(duration(ms(850)), "850ms");
        assert_eq!(duration(ms(4_213)), "4.21s");
        assert_eq!(duration(ms(187_000)), "3m07s");
        assert_eq!(duration(ms(7_500_000)), "2h05m");
        assert_eq!(duration(ms(-5)), "-5ms");
    }

    #[test]
    fn times_are_instants_or_durations_ago() {
        let at = parse_time("2026-11-23T21:00:00+01:00").unwrap_or_default();
        assert_eq!(instant(at), "2026-11-23 20:00:00Z");
        let hour_ago = parse_time("1h").unwrap_or_default();
        let drift = (Utc::now() - chrono::TimeDelta::hours(1) - hour_ago).num_seconds();
        assert!(drift.abs() < 5, "{drift}");
        assert!(parse_time("soon").is_err());
        assert!(parse_time("5y").is_err());
        assert!(parse_time("h").is_err());
    }

    #[test]
    fn tables_align_columns() {
        let mut out = Vec::new();
        let rows = vec![vec!["a".into(), "long cell".into(), "x".into()]];
        table(&mut out, &["ID", "NAME", "LAST"], &rows).unwrap_or_default();
        let text = String::from_utf8_lossy(&out);
        assert_eq!(text, "ID  NAME       LAST\na   long cell  x\n");
    }
}
