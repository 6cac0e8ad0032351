//! Ledger round trips, read from the ledger's own RPC histogram
//! (`sluice_ledger_rpc_duration_seconds_count{method, code}`).

use std::collections::BTreeMap;

const COUNT: &str = "sluice_ledger_rpc_duration_seconds_count{";

/// Calls per ledger method on a Prometheus page (every status code summed).
pub fn per_method(page: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in page.lines() {
        let Some(rest) = line.strip_prefix(COUNT) else {
            continue;
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let method = labels
            .split(',')
            .find_map(|l| l.strip_prefix("method=\""))
            .map(|m| m.trim_end_matches('"').to_owned());
        if let (Some(method), Ok(value)) = (method, value.trim().parse::<f64>()) {
            *out.entry(method).or_insert(0.0) += value;
        }
    }
    out
}

/// Calls made between two pages, per method.
pub fn delta(
    before: &BTreeMap<String, f64>,
    after: &BTreeMap<String, f64>,
) -> BTreeMap<String, f64> {
    after
        .iter()
        .map(|(m, v)| (m.clone(), v - before.get(m).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_codes_per_method() {
        let page = "\
# TYPE sluice_ledger_rpc_duration_seconds histogram
sluice_ledger_rpc_duration_seconds_count{method=\"Begin\",code=\"OK\"} 7
sluice_ledger_rpc_duration_seconds_count{method=\"Begin\",code=\"ABORTED\"} 1
sluice_ledger_rpc_duration_seconds_count{method=\"Complete\",code=\"OK\"} 3
sluice_ledger_rpc_duration_seconds_sum{method=\"Complete\",code=\"OK\"} 0.2
";
        let m = per_method(page);
        assert_eq!(m.get("Begin"), Some(&8.0));
        assert_eq!(m.get("Complete"), Some(&3.0));
        let d = delta(&BTreeMap::from([("Begin".to_owned(), 5.0)]), &m);
        assert_eq!(d.get("Begin"), Some(&3.0));
    }
}
