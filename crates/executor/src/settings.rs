//! An action's connector settings, read from the workflow's
//! `[actions.settings]` table (plus the executor's per-action overrides).
//!
//! | key | connector | meaning |
//! |---|---|---|
//! | `url` | http | where the JSON POST goes |
//! | `timeout_ms` | http, nats | per call (default 5000) |
//! | `honours_idempotency_key` | both | whether the target deduplicates by key (default false) |
//! | `id_field` | http | response field holding the target's id (default `booking_id`) |
//! | `probe_url` | http | status endpoint by key, `{key}` is replaced (for `on_ambiguous = "probe"`) |
//! | `verify_url` | http | the created record by its external id, `{external_id}` is replaced (required by `[actions.verify]`) |
//! | `subject` | nats | where to publish (Msg-Id = the key) |
//! | `database_url` | postgres | the *target* database; set it per action in the executor's settings (`SLUICE_ACTION_SETTINGS__<ACTION>__DATABASE_URL`), not in the workflow |
//! | `table`, `key_column` | postgres | the row written: the body must give the key column's value |
//! | `mode` | postgres | `update` (default; previous values kept, revertible) or `insert` (a staged write) |
//! | `body` | all | a table `target_field = "{contract_field}"` (for postgres, `column = …`); absent → the contract as-is |

use std::collections::BTreeMap;
use std::time::Duration;

use sluice_core::workflow::ActionSpec;

use crate::Error;
use crate::connector::postgres::{PgMode, PgTarget, is_identifier};

/// Which connector runs the action, with its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// JSON POST with `Idempotency-Key`.
    Http {
        /// The URL.
        url: String,
        /// Response field with the external id.
        id_field: String,
        /// Status endpoint by key (`{key}` replaced), if the target has one.
        probe_url: Option<String>,
        /// The record by its external id (`{external_id}` replaced), for
        /// outcome verification.
        verify_url: Option<String>,
    },
    /// JetStream publish with `Nats-Msg-Id` = the key.
    Nats {
        /// The subject.
        subject: String,
    },
    /// A row written in a target database with its key, in one transaction.
    Postgres(PgTarget),
}

/// Everything the executor needs to run one action.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionSettings {
    /// The connector.
    pub target: Target,
    /// Per-call timeout.
    pub timeout: Duration,
    /// Whether the target deduplicates by the key itself.
    pub honours_keys: bool,
    /// The body mapping, `target_field → template`.
    pub body: Option<BTreeMap<String, String>>,
}

impl ActionSettings {
    /// Reads `action`'s settings, with `overrides` on top.
    pub fn parse(action: &ActionSpec, overrides: Option<&toml::Table>) -> Result<Self, Error> {
        let mut table: toml::Table = action.settings.clone().into_iter().collect();
        if let Some(overrides) = overrides {
            table.extend(overrides.clone());
        }
        let bad = |what: String| Error::Config(format!("action {:?}: {what}", action.name));
        let text = |key: &str| -> Result<Option<String>, Error> {
            match table.get(key) {
                None => Ok(None),
                Some(toml::Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(bad(format!(
                    "settings.{key} must be text, not {}",
                    other.type_str()
                ))),
            }
        };
        let timeout_ms = match table.get("timeout_ms") {
            None => 5_000,
            Some(toml::Value::Integer(ms)) if *ms > 0 => u64::try_from(*ms).unwrap_or(5_000),
            Some(other) => {
                return Err(bad(format!(
                    "settings.timeout_ms must be a positive integer, not {}",
                    other.type_str()
                )));
            }
        };
        let honours_keys = match table.get("honours_idempotency_key") {
            None => false,
            Some(toml::Value::Boolean(b)) => *b,
            Some(other) => {
                return Err(bad(format!(
                    "settings.honours_idempotency_key must be a boolean, not {}",
                    other.type_str()
                )));
            }
        };
        let body = match table.get("body") {
            None => None,
            Some(toml::Value::Table(t)) => Some(
                t.iter()
                    .map(|(k, v)| match v {
                        toml::Value::String(s) => Ok((k.clone(), s.clone())),
                        other => Err(bad(format!(
                            "settings.body.{k} must be text, not {}",
                            other.type_str()
                        ))),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Some(other) => {
                return Err(bad(format!(
                    "settings.body must be a table, not {}",
                    other.type_str()
                )));
            }
        };
        let target = match action.connector.as_str() {
            "http" => Target::Http {
                url: text("url")?.ok_or_else(|| bad("settings.url is required".into()))?,
                id_field: text("id_field")?.unwrap_or_else(|| "booking_id".to_owned()),
                probe_url: text("probe_url")?,
                verify_url: match (text("verify_url")?, &action.verify) {
                    (Some(url), _) if !url.contains("{external_id}") => {
                        return Err(bad(format!(
                            "settings.verify_url {url:?} must contain {{external_id}}"
                        )));
                    }
                    (None, Some(_)) => {
                        return Err(bad(
                            "[actions.verify] needs settings.verify_url, the record by {external_id}"
                                .into(),
                        ));
                    }
                    (url, _) => url,
                },
            },
            "nats" => Target::Nats {
                subject: text("subject")?
                    .ok_or_else(|| bad("settings.subject is required".into()))?,
            },
            "postgres" => {
                let name = |key: &str| -> Result<String, Error> {
                    let value =
                        text(key)?.ok_or_else(|| bad(format!("settings.{key} is required")))?;
                    if is_identifier(&value) {
                        Ok(value)
                    } else {
                        Err(bad(format!(
                            "settings.{key} {value:?} is not a plain lower-case name"
                        )))
                    }
                };
                let mode = match text("mode")?.as_deref() {
                    None | Some("update") => PgMode::Update,
                    Some("insert") => PgMode::Insert,
                    Some(other) => {
                        return Err(bad(format!(
                            "settings.mode {other:?} is not update or insert"
                        )));
                    }
                };
                Target::Postgres(PgTarget {
                    database_url: text("database_url")?.ok_or_else(|| {
                        bad("settings.database_url is required (set it in the executor's action_settings)".into())
                    })?,
                    table: name("table")?,
                    key_column: name("key_column")?,
                    mode,
                })
            }
            other => return Err(bad(format!("connector {other:?} is not supported"))),
        };
        Ok(Self {
            target,
            timeout: Duration::from_millis(timeout_ms),
            honours_keys,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(connector: &str, settings: &str) -> ActionSpec {
        let text = format!(
            "name = \"a\"\nconnector = \"{connector}\"\nidempotency_key = \"k\"\n[settings]\n{settings}"
        );
        toml::from_str(&text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn http_defaults_and_overrides() {
        let a = action(
            "http",
            "url = \"http://x/b\"\n[settings.body]\nn = \"{name}\"",
        );
        let s = ActionSettings::parse(&a, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.timeout, Duration::from_secs(5));
        assert!(!s.honours_keys);
        assert_eq!(s.body.map(|b| b.len()), Some(1));
        let mut o = toml::Table::new();
        o.insert("url".into(), "http://y/b".into());
        o.insert("honours_idempotency_key".into(), true.into());
        let s = ActionSettings::parse(&a, Some(&o)).unwrap_or_else(|e| panic!("{e}"));
        assert!(s.honours_keys);
        assert!(matches!(s.target, Target::Http { ref url, .. } if url == "http://y/b"));
    }

    #[test]
    fn refuses_missing_and_unknown() {
        assert!(ActionSettings::parse(&action("http", ""), None).is_err());
        assert!(ActionSettings::parse(&action("nats", ""), None).is_err());
        assert!(ActionSettings::parse(&action("smtp", "url = \"x\""), None).is_err());
        assert!(ActionSettings::parse(&action("http", "url = 3"), None).is_err());
    }

    #[test]
    fn postgres_needs_a_url_and_plain_names() {
        let ok = action(
            "postgres",
            "database_url = \"postgres://crm\"\ntable = \"accounts\"\nkey_column = \"id\"",
        );
        let s = ActionSettings::parse(&ok, None).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            matches!(s.target, Target::Postgres(ref t) if t.mode == PgMode::Update && t.table == "accounts")
        );
        let no_url = action("postgres", "table = \"accounts\"\nkey_column = \"id\"");
        let err = ActionSettings::parse(&no_url, None)
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("database_url")));
        let mut o = toml::Table::new();
        o.insert("database_url".into(), "postgres://from-the-executor".into());
        assert!(
            ActionSettings::parse(&no_url, Some(&o)).is_ok(),
            "the executor supplies the URL"
        );
        let injected = action(
            "postgres",
            "database_url = \"u\"\ntable = \"accounts; drop table x\"\nkey_column = \"id\"",
        );
        assert!(ActionSettings::parse(&injected, None).is_err());
        let mode = action(
            "postgres",
            "database_url = \"u\"\ntable = \"t\"\nkey_column = \"id\"\nmode = \"upsert\"",
        );
        assert!(ActionSettings::parse(&mode, None).is_err());
    }
}
