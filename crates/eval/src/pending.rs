//! The pending file of candidate feedback cases, and accepting them.
//!
//! Accepting moves a case's line, as the person who checked it left it (they
//! may have edited the expectation), from the pending file to
//! [`FEEDBACK_FILE`]. The accepted file is appended to first and the pending
//! file rewritten after, so a crash in between leaves the case in both, never
//! in neither; `sluice eval` reads only the accepted one.

use std::io::Write as _;
use std::path::Path;

use crate::Error;
use crate::case::{Case, Origin, parse_line};
use crate::suite::{FEEDBACK_FILE, is_pending, read_file};

/// Appends `cases` to `path`, one JSON line each, creating it if needed.
pub fn append(path: &Path, cases: &[Case]) -> Result<(), Error> {
    let fail = |e: String| Error::Cases(format!("{}: {e}", path.display()));
    let mut lines = String::new();
    for case in cases {
        lines.push_str(&serde_json::to_string(case).map_err(|e| fail(e.to_string()))?);
        lines.push('\n');
    }
    append_lines(path, &lines).map_err(|e| fail(e.to_string()))
}

/// Moves the cases `ids` from the pending file `from` to the accepted
/// [`FEEDBACK_FILE`] of the `eval/` folder `dir`; returns the ids moved.
/// Nothing moves when an id is not pending ([`Error::NotPending`]) or is
/// already used by a case the runs read.
pub fn accept(dir: &Path, from: &Path, ids: &[String]) -> Result<Vec<String>, Error> {
    let fail = |path: &Path, e: String| Error::Cases(format!("{}: {e}", path.display()));
    let text = std::fs::read_to_string(from).map_err(|e| fail(from, e.to_string()))?;
    let (mut moved, mut kept) = (Vec::new(), String::new());
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let origin = Origin {
            file: from.display().to_string(),
            line: i + 1,
        };
        let case = parse_line(line, origin)?;
        if ids.contains(&case.id) {
            moved.push((case.id, line));
        } else {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    let missing: Vec<String> = ids
        .iter()
        .filter(|id| !moved.iter().any(|(m, _)| m == *id))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(Error::NotPending {
            file: from.display().to_string(),
            ids: missing,
        });
    }
    let taken = read_ids(dir)?;
    if let Some((id, _)) = moved.iter().find(|(id, _)| taken.contains(id)) {
        let why = format!("{id:?} is already used by a case in {}", dir.display());
        return Err(fail(from, why));
    }
    let to = dir.join(FEEDBACK_FILE);
    let lines: String = moved.iter().map(|(_, line)| format!("{line}\n")).collect();
    append_lines(&to, &lines).map_err(|e| fail(&to, e.to_string()))?;
    // Rewritten whole and renamed over, so a crash leaves the old file.
    let partial = from.with_extension("jsonl.partial");
    std::fs::write(&partial, kept)
        .and_then(|()| std::fs::rename(&partial, from))
        .map_err(|e| fail(from, e.to_string()))?;
    Ok(moved.into_iter().map(|(id, _)| id).collect())
}

/// The ids of the cases runs read (every `*.jsonl` but pending ones).
fn read_ids(dir: &Path) -> Result<Vec<String>, Error> {
    let mut ids = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::Cases(format!("{}: {e}", dir.display())))?;
    for path in entries.filter_map(Result::ok).map(|e| e.path()) {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.extension().is_some_and(|e| e == "jsonl") && !is_pending(name) {
            ids.extend(read_file(&path)?.into_iter().map(|c| c.id));
        }
    }
    Ok(ids)
}

/// Appends `lines` to `path`, on a line of their own.
fn append_lines(path: &Path, lines: &str) -> std::io::Result<()> {
    let ends_open = std::fs::read(path)
        .map(|bytes| bytes.last().is_some_and(|b| *b != b'\n'))
        .unwrap_or(false);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    if ends_open {
        file.write_all(b"\n")?;
    }
    file.write_all(lines.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{PENDING_FEEDBACK_FILE, load_suite};

    fn case(id: &str) -> Case {
        let line = format!(
            r#"{{"id":"{id}","now":"2026-11-23T18:00:00+01:00","timezone":"Europe/Madrid","payload":{{"text":"hi"}},"expected":{{"outcome":"not_auto"}}}}"#
        );
        parse_line(&line, Origin::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn accepting_moves_the_lines_and_an_unknown_id_moves_nothing() {
        let dir = std::env::temp_dir().join(format!("sluice-eval-pending-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        std::fs::write(dir.join("dates.jsonl"), "").unwrap_or_default();
        append(&dir.join("dates.jsonl"), &[case("a")]).unwrap_or_else(|e| panic!("{e}"));
        let pending = dir.join(PENDING_FEEDBACK_FILE);
        append(&pending, &[case("feedback-1"), case("feedback-2")])
            .unwrap_or_else(|e| panic!("{e}"));
        append(&pending, &[case("feedback-3")]).unwrap_or_else(|e| panic!("{e}"));

        let wrong = ["feedback-1".to_owned(), "feedback-9".to_owned()];
        let err = accept(&dir, &pending, &wrong).map(|_| ()).unwrap_err();
        assert!(err.to_string().contains("feedback-9"), "{err}");
        assert!(!dir.join(FEEDBACK_FILE).exists());

        let ids = ["feedback-3".to_owned(), "feedback-1".to_owned()];
        let moved = accept(&dir, &pending, &ids).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(moved, ["feedback-1", "feedback-3"]);
        let suite = load_suite(&dir).unwrap_or_else(|e| panic!("{e}"));
        let accepted: Vec<&str> = suite.feedback.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(accepted, ["feedback-1", "feedback-3"]);
        let left = read_file(&pending).unwrap_or_default();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].id, "feedback-2");
        std::fs::remove_dir_all(&dir).unwrap_or_default();
    }
}
