//! Finding executions by correlation id.
//!
//! The ledger's API has no index on correlation ids, so executions are
//! listed newest first, a page at a time, and compared here: the cost grows
//! with the number scanned, bounded by the caller, and the filter's
//! workflow and time window narrow the scan.

use sluice_ledger::{Execution, ExecutionFilter, LedgerClient};

/// Executions listed per call while scanning.
pub const PAGE: u32 = 500;

/// The executions under `filter` whose correlation id is `correlation`,
/// oldest first, and how many executions were scanned (at most about
/// `max_scan`).
pub async fn by_correlation(
    ledger: &LedgerClient,
    filter: &ExecutionFilter,
    correlation: &str,
    max_scan: usize,
) -> Result<(Vec<Execution>, usize), sluice_ledger::Error> {
    let mut filter = ExecutionFilter {
        limit: PAGE,
        page_token: String::new(),
        ..filter.clone()
    };
    let (mut found, mut scanned) = (Vec::new(), 0);
    loop {
        let page = ledger.list_executions(&filter).await?;
        scanned += page.executions.len();
        found.extend(
            page.executions
                .into_iter()
                .filter(|e| e.correlation_id == correlation),
        );
        if page.next_page_token.is_empty() || scanned >= max_scan {
            break;
        }
        filter.page_token = page.next_page_token;
    }
    found.reverse();
    Ok((found, scanned))
}
