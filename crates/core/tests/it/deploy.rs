//! The Grafana dashboard and the Prometheus alert rules under `deploy/`
//! parse, and every metric they query is one the code registers (the
//! catalogue); every alert links its runbook, a section of the README.

use std::collections::BTreeSet;

use serde_json::Value;
use sluice_core::metrics::find_series;

use crate::{repo, sluice_names};

fn unknown_metrics(text: &str) -> BTreeSet<String> {
    sluice_names(text)
        .into_iter()
        .filter(|name| find_series(name).is_none())
        .collect()
}

/// Every string under an `expr` key, anywhere in `value`.
fn exprs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr", Value::String(expr)) => out.push(expr.clone()),
                    _ => exprs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| exprs(v, out)),
        _ => {}
    }
}

#[test]
fn the_dashboard_parses_and_queries_only_catalogue_metrics() {
    let text = std::fs::read_to_string(repo("deploy/grafana/sluice.json")).unwrap();
    let dashboard: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    assert!(dashboard["title"].is_string(), "a dashboard has a title");
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut ids = BTreeSet::new();
    for panel in panels {
        assert!(
            ids.insert(panel["id"].as_u64().expect("panel id")),
            "duplicate panel id"
        );
        assert!(panel["title"].is_string(), "{panel}");
    }
    let mut queries = Vec::new();
    exprs(&dashboard, &mut queries);
    assert!(queries.len() >= 12, "only {} queries", queries.len());
    for query in &queries {
        assert!(
            !sluice_names(query).is_empty(),
            "queries no Sluice metric: {query}"
        );
    }
    // Everything, template queries included.
    let unknown = unknown_metrics(&text);
    assert!(unknown.is_empty(), "not in the catalogue: {unknown:?}");
}

/// `#anchor` of every README heading, as GitHub spells it.
fn readme_anchors() -> BTreeSet<String> {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    readme
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|h| {
            h.trim_start_matches('#')
                .trim()
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
                .map(|c| if c == ' ' { '-' } else { c })
                .collect()
        })
        .collect()
}

#[test]
fn the_alert_rules_query_only_catalogue_metrics_and_link_their_runbook() {
    let text = std::fs::read_to_string(repo("deploy/prometheus/alerts.yml")).unwrap();
    let unknown = unknown_metrics(&text);
    assert!(unknown.is_empty(), "not in the catalogue: {unknown:?}");
    let alerts = text.matches("- alert: ").count();
    assert!(alerts >= 6, "{alerts} alerts");
    let anchors = readme_anchors();
    let runbooks: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("runbook_url: "))
        .collect();
    assert_eq!(runbooks.len(), alerts, "every alert has a runbook_url");
    for url in runbooks {
        let anchor = url
            .trim_matches('"')
            .rsplit_once("README.md#")
            .map(|(_, a)| a);
        let anchor = anchor.unwrap_or_else(|| panic!("{url} is not a README section"));
        assert!(
            anchors.contains(anchor),
            "README.md has no section #{anchor}"
        );
    }
}
