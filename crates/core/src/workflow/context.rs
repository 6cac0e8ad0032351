//! `[[context]]`: what the gate looks up before it decides.
//!
//! A workflow declares context providers — an HTTP GET (a restaurant's
//! availability for the requested slot, a CRM account record) or a
//! parameterised read of a target Postgres — each with a time limit,
//! retries, a cache with a freshness limit and what to do when the provider
//! cannot answer: use a cached answer up to `max_stale_s` old, else stop for
//! a person. The gate records what it fetched, from where and how fresh it
//! was with its decision.

use serde::{Deserialize, Serialize};

use crate::error::validate_name;

/// One context provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextSpec {
    /// The provider's name: how rules and the decision refer to it.
    pub name: String,
    /// Where the answer comes from.
    pub kind: ContextKind,
    /// Who asks: the gate (over the validated contract, before its rules;
    /// the default) or the interpreter (over the event's payload, before
    /// the model, which is shown the answers as data in `{context}`).
    #[serde(default)]
    pub stage: ContextStage,
    /// `http`: the URL, a template over the contract's fields
    /// (`…/availability?date={date}&time={time}`; values are
    /// percent-encoded). The answer must be a JSON object. A deployment
    /// points it elsewhere with `SLUICE_CONTEXT_URLS__<NAME>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `postgres`: a `SELECT` with `$1…` placeholders, run in a read-only
    /// transaction; the answer is the first row as a JSON object (`{}` when
    /// there is none). The database URL is deployment-specific:
    /// `SLUICE_CONTEXT_DATABASES__<NAME>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// `postgres`: the values bound to the placeholders, in order
    /// (templates over the contract's fields, bound as text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<String>,
    /// Time limit of one attempt, in milliseconds.
    #[serde(default = "defaults::timeout_ms")]
    pub timeout_ms: u64,
    /// Attempts after the first when one fails or times out.
    #[serde(default = "defaults::retries")]
    pub retries: u32,
    /// How long an answer is used without asking again, in seconds (0: ask
    /// every time; the answer is still kept for `max_stale_s`).
    #[serde(default)]
    pub fresh_for_s: u64,
    /// When the provider cannot answer, a cached answer up to this old (in
    /// seconds) is used and marked stale; past it, or with none, the
    /// execution stops for a person.
    #[serde(default)]
    pub max_stale_s: u64,
}

/// Which stage asks a context provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContextStage {
    /// The gate, before its rules, over the contract.
    #[default]
    Gate,
    /// The interpreter, before the model, over the event's payload.
    Interpret,
}

/// Where a context answer comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContextKind {
    /// An HTTP GET of `url`.
    Http,
    /// A read of a target Postgres (`query`, `params`).
    Postgres,
}

impl ContextSpec {
    /// Checks what serde cannot: a name that is a label, a bounded time
    /// limit, a read-only query.
    pub fn validate(&self) -> Result<(), String> {
        validate_name("context", &self.name).map_err(|e| e.to_string())?;
        if self.timeout_ms == 0 || self.timeout_ms > 60_000 {
            return Err(format!("context {}: timeout_ms must be 1-60000", self.name));
        }
        match self.kind {
            ContextKind::Http => {
                let Some(url) = &self.url else {
                    return Err(format!("context {}: kind http needs url", self.name));
                };
                super::validate_url(&format!("context {}: url", self.name), url)?;
                if self.query.is_some() || !self.params.is_empty() {
                    return Err(format!(
                        "context {}: query and params are for kind postgres",
                        self.name
                    ));
                }
            }
            ContextKind::Postgres => {
                let head = self.query.as_deref().unwrap_or_default();
                let head = head.trim_start().to_ascii_lowercase();
                if !(head.starts_with("select") || head.starts_with("with")) {
                    return Err(format!(
                        "context {}: kind postgres needs query, a SELECT (it runs read-only)",
                        self.name
                    ));
                }
                if self.url.is_some() {
                    return Err(format!("context {}: url is for kind http", self.name));
                }
            }
        }
        Ok(())
    }
}

mod defaults {
    pub(super) const fn timeout_ms() -> u64 {
        2_000
    }

    pub(super) const fn retries() -> u32 {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ContextSpec, String> {
        let spec: ContextSpec = toml::from_str(text).map_err(|e| e.to_string())?;
        spec.validate()?;
        Ok(spec)
    }

    #[test]
    fn an_http_and_a_postgres_provider_parse_with_their_limits() -> Result<(), String> {
        let http = parse(
            "name = \"availability\"\nkind = \"http\"\n\
             url = \"http://booking/availability?date={date}\"\nfresh_for_s = 30\nmax_stale_s = 600",
        )?;
        assert_eq!(http.timeout_ms, 2_000);
        assert_eq!(http.retries, 1);
        assert_eq!(http.max_stale_s, 600);
        let pg = parse(
            "name = \"account\"\nkind = \"postgres\"\n\
             query = \"SELECT name, industry FROM accounts WHERE account_id = $1\"\n\
             params = [\"{account_id}\"]\ntimeout_ms = 500",
        )?;
        assert_eq!(pg.kind, ContextKind::Postgres);
        assert_eq!(pg.params, ["{account_id}"]);
        Ok(())
    }

    #[test]
    fn bad_providers_are_refused_with_the_reason() {
        let err = parse("name = \"a\"\nkind = \"ftp\"\nurl = \"x\"").expect_err("kind");
        assert!(err.contains("ftp"), "{err}");
        let err = parse("name = \"a\"\nkind = \"http\"\nurl = \"http://x\"\nquery = \"SELECT 1\"")
            .expect_err("mixed");
        assert!(err.contains("postgres"), "{err}");
        let err = parse("name = \"a\"\nkind = \"http\"\nurl = \"file:///etc\"").expect_err("url");
        assert!(err.contains("http(s)"), "{err}");
        let err = parse("name = \"a\"\nkind = \"postgres\"\nquery = \"DELETE FROM accounts\"")
            .expect_err("write");
        assert!(err.contains("SELECT"), "{err}");
        let err =
            parse("name = \"Bad Name\"\nkind = \"http\"\nurl = \"http://x\"").expect_err("name");
        assert!(err.contains("a-z"), "{err}");
    }
}
