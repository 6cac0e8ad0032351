//! Page tokens for the lists ordered by a `bigserial` id (dead letters and
//! review items): the token is the last id of the page, so pages stay stable
//! while rows arrive.

use crate::error::{Error, Result};

/// The default page size.
pub(crate) const DEFAULT_LIMIT: u32 = 50;
/// The largest page size.
pub(crate) const MAX_LIMIT: u32 = 500;

/// The page size for a requested `limit` (0 means the default).
pub(crate) fn limit(requested: u32) -> u32 {
    match requested {
        0 => DEFAULT_LIMIT,
        n => n.min(MAX_LIMIT),
    }
}

/// The id after which the page starts, if any.
pub(crate) fn after(token: &str) -> Result<Option<i64>> {
    if token.is_empty() {
        return Ok(None);
    }
    token
        .parse()
        .map(Some)
        .map_err(|_| Error::InvalidArgument(format!("invalid page token {token:?}")))
}

/// Cuts the one extra row fetched to learn whether another page follows and
/// returns the token for it (empty on the last page).
pub(crate) fn finish<T>(rows: &mut Vec<T>, limit: u32, id: impl Fn(&T) -> i64) -> String {
    if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last()
            .map(|last| id(last).to_string())
            .unwrap_or_default()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_limits() {
        assert_eq!(limit(0), DEFAULT_LIMIT);
        assert_eq!(limit(10_000), MAX_LIMIT);
        assert_eq!(after("").ok(), Some(None));
        assert_eq!(after("42").ok(), Some(Some(42)));
        assert!(after("x").is_err());
        let mut rows = vec![1, 2, 3];
        assert_eq!(finish(&mut rows, 2, |r| *r), "2");
        assert_eq!(rows, vec![1, 2]);
        assert_eq!(finish(&mut rows, 2, |r| *r), "");
    }
}
