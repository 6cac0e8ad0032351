//! The metrics catalogue against what uses it: the code's call sites, the
//! README's reference, the dashboards and the alert rules.
#![allow(clippy::expect_used, clippy::unwrap_used)] // a failed harness step should stop the test loudly

mod call_sites;
mod deploy;
mod props;
mod readme;

use std::path::PathBuf;

/// A path from the repository root.
pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// Every `sluice_…` name in `text` (metric names, possibly series names).
pub fn sluice_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("sluice_") {
        let before = rest[..at].chars().next_back();
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        // Only whole words: not `x_sluice_y`.
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            names.push(tail[..end].to_owned());
        }
        rest = &tail[end..];
    }
    names
}
