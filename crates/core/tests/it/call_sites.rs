//! Every metric the code records comes from the catalogue: each
//! `counter!`/`gauge!`/`histogram!` call in `crates/*/src` and
//! `examples/*/src` names a catalogue constant (`PREVENTED_DUPLICATES.name`,
//! never a string), with the macro of the entry's kind and exactly the
//! entry's label keys.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sluice_core::metrics::{self, MetricDef, MetricKind};

use crate::repo;

/// The catalogue constant an identifier names (`PREVENTED_DUPLICATES`).
fn constant(ident: &str) -> Option<&'static MetricDef> {
    let sources = [
        include_str!("../../src/metrics/pipeline.rs"),
        include_str!("../../src/metrics/operations.rs"),
    ];
    sources.iter().find_map(|source| {
        let at = source.find(&format!("pub const {ident}: MetricDef = "))?;
        let name = source[at..].split('"').nth(1)?;
        metrics::find(name)
    })
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for group in ["crates", "examples"] {
        for member in std::fs::read_dir(repo(group)).unwrap().flatten() {
            rust_files(&member.path().join("src"), &mut files);
        }
    }
    files
}

/// The text between the parenthesis at `open` and its match.
fn arguments(text: &str, open: usize) -> &str {
    let mut depth = 0;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text[open..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '(' if !in_string => depth += 1,
            ')' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return &text[open + 1..open + i];
                }
            }
            _ => {}
        }
    }
    &text[open + 1..]
}

/// Problems of one macro call: `args` of `macro_kind!`.
fn check_call(macro_kind: MetricKind, args: &str) -> Result<&'static str, String> {
    let first = args.split(',').next().unwrap_or_default().trim();
    if first.starts_with('"') {
        return Err(format!(
            "names a metric by a string ({first}); use the catalogue's constant"
        ));
    }
    let ident = first
        .strip_suffix(".name")
        .and_then(|path| path.rsplit("::").next())
        .ok_or_else(|| format!("{first:?} is not a catalogue constant's `.name`"))?;
    let def = constant(ident).ok_or_else(|| format!("{ident} is not in the catalogue"))?;
    if def.kind != macro_kind {
        return Err(format!("{} is a {}", def.name, def.kind.as_str()));
    }
    // `"key" => value`: each piece before a `=>` ends with a quoted key.
    let pieces: Vec<&str> = args.split("=>").collect();
    let used: BTreeSet<&str> = pieces[..pieces.len() - 1]
        .iter()
        .filter_map(|before| before.trim_end().strip_suffix('"')?.rsplit('"').next())
        .collect();
    let declared: BTreeSet<&str> = def.labels.iter().copied().collect();
    if used != declared {
        return Err(format!(
            "{} labels {used:?}, declared {declared:?}",
            def.name
        ));
    }
    Ok(def.name)
}

#[test]
fn every_recorded_metric_is_a_catalogue_constant_with_its_labels() {
    let mut problems = Vec::new();
    let mut recorded = BTreeSet::new();
    for file in sources() {
        let text = std::fs::read_to_string(&file).unwrap();
        for (macro_name, kind) in [
            ("counter!(", MetricKind::Counter),
            ("gauge!(", MetricKind::Gauge),
            ("histogram!(", MetricKind::Histogram),
        ] {
            for (at, _) in text.match_indices(macro_name) {
                // `describe_counter!` registers the catalogue itself; doc
                // comments show how to call the macros.
                let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                if text[..at].ends_with("describe_")
                    || text[line_start..at].trim_start().starts_with("//")
                {
                    continue;
                }
                let args = arguments(&text, at + macro_name.len() - 1);
                match check_call(kind, args) {
                    Ok(name) => {
                        recorded.insert(name);
                    }
                    Err(problem) => {
                        let line = text[..at].lines().count();
                        problems.push(format!("{}:{line}: {problem}", file.display()));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(recorded.len() > 20, "the scan found only {recorded:?}");
}

#[test]
fn the_checker_catches_strings_kinds_and_labels() {
    let good = r#"PREVENTED_DUPLICATES.name, "layer" => "message", "stage" => y"#;
    assert!(check_call(MetricKind::Counter, good).is_ok());
    assert!(check_call(MetricKind::Counter, r#""sluice_x_total", "a" => b"#).is_err());
    assert!(check_call(MetricKind::Gauge, good).is_err());
    let missing = r#"sluice_core::metrics::PREVENTED_DUPLICATES.name, "layer" => x"#;
    assert!(check_call(MetricKind::Counter, missing).is_err());
    assert!(check_call(MetricKind::Counter, "NOT_THERE.name").is_err());
}
