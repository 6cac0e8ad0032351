//! The catalogue's own conventions.

use std::collections::BTreeSet;

use super::*;

#[test]
fn names_are_unique_prefixed_and_follow_the_conventions() {
    let mut seen = BTreeSet::new();
    for m in CATALOGUE {
        assert!(seen.insert(m.name), "{} is declared twice", m.name);
        assert!(m.name.starts_with("sluice_"), "{}", m.name);
        assert!(
            m.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{}",
            m.name
        );
        assert_eq!(
            m.kind == MetricKind::Counter,
            m.name.ends_with("_total"),
            "counters, and only counters, end in _total: {}",
            m.name
        );
        if m.unit == MetricUnit::Seconds {
            assert!(m.name.ends_with("_seconds"), "{}", m.name);
        }
        assert!(!m.help.is_empty() && m.help.ends_with('.'), "{}", m.name);
    }
}

#[test]
fn histograms_and_only_histograms_have_ascending_buckets() {
    for m in CATALOGUE {
        if m.kind == MetricKind::Histogram {
            assert!(!m.buckets.is_empty(), "{} has no buckets", m.name);
            assert!(
                m.buckets.windows(2).all(|w| w[0] < w[1]),
                "{}: buckets must ascend",
                m.name
            );
        } else {
            assert!(m.buckets.is_empty(), "{} is no histogram", m.name);
        }
    }
}

#[test]
fn labels_are_unique_and_never_personal() {
    const PERSONAL: &[&str] = &["name", "sender", "phone", "email", "text", "key"];
    for m in CATALOGUE {
        let unique: BTreeSet<_> = m.labels.iter().collect();
        assert_eq!(unique.len(), m.labels.len(), "{}", m.name);
        for label in m.labels {
            assert!(!PERSONAL.contains(label), "{}: {label}", m.name);
        }
    }
}

#[test]
fn series_names_map_to_their_entry() {
    assert_eq!(
        find_series("sluice_confidence_bucket").map(|m| m.name),
        Some(CONFIDENCE.name)
    );
    assert_eq!(
        find_series("sluice_prevented_duplicates_total").map(|m| m.name),
        Some(PREVENTED_DUPLICATES.name)
    );
    // A counter has no `_count` series.
    assert!(find_series("sluice_prevented_duplicates_total_count").is_none());
    assert!(find_series("sluice_nothing").is_none());
}

#[test]
fn every_declared_entry_is_in_the_catalogue() {
    let declared: usize = [include_str!("pipeline.rs"), include_str!("operations.rs")]
        .iter()
        .map(|source| source.matches(": MetricDef =").count())
        .sum();
    assert_eq!(declared, CATALOGUE.len(), "add the new entry to CATALOGUE");
}
