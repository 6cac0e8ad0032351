//! Which case files of `workflows/<name>/eval/` a run reads, and how.
//!
//! Every `*.jsonl` file holds frozen cases, scored against the baseline,
//! except two kinds: [`FEEDBACK_FILE`] holds the feedback cases a person
//! accepted from reviewers' decisions (scored on their own, outside the
//! baseline), and `pending-*.jsonl` files hold candidates nobody has checked
//! yet, which no run reads.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::Error;
use crate::case::{Case, Origin, bad, parse_line};

/// The accepted feedback cases, in the workflow's `eval/` folder.
pub const FEEDBACK_FILE: &str = "feedback.jsonl";

/// Where `sluice eval import-feedback` writes candidates by default.
pub const PENDING_FEEDBACK_FILE: &str = "pending-feedback.jsonl";

/// A workflow's cases, as a run scores them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Suite {
    /// The frozen cases, in file name order: what the baseline measures.
    pub frozen: Vec<Case>,
    /// The accepted feedback cases, in file order.
    pub feedback: Vec<Case>,
}

/// Reads the frozen and the accepted feedback cases of the `eval/` folder
/// `dir`. Blank lines are skipped; any other line that is not a valid case
/// is an error naming its file and line, as is an id used twice (across
/// both kinds) or a folder with no frozen case.
pub fn load_suite(dir: &Path) -> Result<Suite, Error> {
    let mut suite = Suite::default();
    let mut seen: BTreeMap<String, Origin> = BTreeMap::new();
    for path in case_files(dir)? {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if is_pending(name) {
            continue;
        }
        let cases = read_file(&path)?;
        for case in &cases {
            if let Some(first) = seen.insert(case.id.clone(), case.origin.clone()) {
                return Err(bad(
                    &case.origin,
                    format!("id {:?} is already used at {first}", case.id),
                ));
            }
        }
        if name == FEEDBACK_FILE {
            suite.feedback = cases;
        } else {
            suite.frozen.extend(cases);
        }
    }
    if suite.frozen.is_empty() {
        return Err(Error::Cases(format!(
            "no cases in {}/*.jsonl",
            dir.display()
        )));
    }
    Ok(suite)
}

/// The frozen cases of the `eval/` folder `dir` (see [`load_suite`]).
pub fn load_cases(dir: &Path) -> Result<Vec<Case>, Error> {
    load_suite(dir).map(|suite| suite.frozen)
}

/// Every case id written in `dir`'s `*.jsonl` files, pending ones included,
/// and in `extra` when it exists: what an import must not write again.
/// A folder that does not exist holds none.
pub fn known_ids(dir: &Path, extra: Option<&Path>) -> Result<BTreeSet<String>, Error> {
    let mut files = if dir.is_dir() {
        case_files(dir)?
    } else {
        Vec::new()
    };
    if let Some(extra) = extra.filter(|p| p.is_file() && !files.iter().any(|f| same(f, p))) {
        files.push(extra.to_owned());
    }
    let mut ids = BTreeSet::new();
    for path in files {
        ids.extend(read_file(&path)?.into_iter().map(|case| case.id));
    }
    Ok(ids)
}

/// A file of candidates no run reads: `pending-*.jsonl`.
pub fn is_pending(file_name: &str) -> bool {
    file_name.starts_with("pending-")
}

/// Every case of one file, each checked on its own.
pub(crate) fn read_file(path: &Path) -> Result<Vec<Case>, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Cases(format!("{}: {e}", path.display())))?;
    let mut cases = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let origin = Origin {
            file: path.display().to_string(),
            line: i + 1,
        };
        cases.push(parse_line(line, origin)?);
    }
    Ok(cases)
}

/// `dir`'s `*.jsonl` files, in name order.
fn case_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::Cases(format!("{}: {e}", dir.display())))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    Ok(files)
}

/// The same file by two spellings (`eval/x.jsonl` and `./eval/x.jsonl`).
fn same(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str) -> String {
        format!(
            r#"{{"id":"{id}","now":"2026-11-23T18:00:00+01:00","timezone":"Europe/Madrid","payload":{{"text":"hi"}},"expected":{{"outcome":"not_auto"}}}}"#
        )
    }

    fn folder(test: &str, files: &[(&str, &[&str])]) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sluice-eval-suite-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        for (name, ids) in files {
            let text: Vec<String> = ids.iter().map(|id| line(id)).collect();
            std::fs::write(dir.join(name), text.join("\n")).unwrap_or_default();
        }
        dir
    }

    #[test]
    fn feedback_is_apart_pending_is_unread_and_ids_are_known_everywhere() {
        let dir = folder(
            "kinds",
            &[
                ("dates.jsonl", &["a", "b"]),
                (FEEDBACK_FILE, &["feedback-1"]),
                (PENDING_FEEDBACK_FILE, &["feedback-2", "a"]),
            ],
        );
        let suite = load_suite(&dir).unwrap_or_else(|e| panic!("{e}"));
        let ids = |cases: &[Case]| cases.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&suite.frozen), ["a", "b"]);
        assert_eq!(ids(&suite.feedback), ["feedback-1"]);
        let known = known_ids(&dir, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            known.into_iter().collect::<Vec<_>>(),
            ["a", "b", "feedback-1", "feedback-2"]
        );
        std::fs::remove_dir_all(&dir).unwrap_or_default();
    }

    #[test]
    fn an_id_accepted_twice_names_both_places() {
        let dir = folder("twice", &[("dates.jsonl", &["a"]), (FEEDBACK_FILE, &["a"])]);
        let err = load_suite(&dir).map(|_| ()).unwrap_err().to_string();
        assert!(
            err.contains("feedback.jsonl:1: id \"a\" is already used at "),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap_or_default();
    }
}
