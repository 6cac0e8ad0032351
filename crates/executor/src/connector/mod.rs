//! Connectors: how an action reaches its target, and how each answer is
//! classified.
//!
//! An answer is one of three things. `Applied`: the target did it. `Failed`:
//! it did not, classified temporary or permanent. `Ambiguous`: the request was
//! sent but no answer came back (a timeout, a dropped connection), so the
//! effect may or may not have happened — never retried blindly.

pub mod http;
pub mod nats;
pub mod postgres;

use serde_json::{Value, json};
use sluice_core::FailureClass;

use crate::settings::{ActionSettings, Target};

/// What one call of a connector found out.
#[derive(Debug, Clone, PartialEq)]
pub enum Called {
    /// The target applied the effect.
    Applied(Applied),
    /// The target refused or could not be reached; no effect happened.
    Failed {
        /// Temporary (retry), permanent (review) or unknown (review).
        class: FailureClass,
        /// One line for people.
        reason: String,
    },
    /// The request may have been applied; nobody may guess.
    Ambiguous {
        /// One line for people.
        reason: String,
    },
}

/// A successful call's result, as stored in the ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// HTTP status, or 200 for a stored NATS publish.
    pub status: u16,
    /// What the target answered.
    pub body: Value,
    /// The target's id for what it wrote.
    pub external_id: Option<String>,
}

impl Applied {
    /// `{status, body, external_id}`: what `Complete` stores.
    pub fn to_result(&self) -> Value {
        json!({ "status": self.status, "body": self.body, "external_id": self.external_id })
    }

    /// Reads a stored result back.
    pub fn from_result(result: Option<&Value>) -> Self {
        let get = |k: &str| result.and_then(|r| r.get(k));
        Self {
            status: get("status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or(0),
            body: get("body").cloned().unwrap_or(Value::Null),
            external_id: get("external_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }
}

/// What a status probe said.
#[derive(Debug, Clone, PartialEq)]
pub enum Probed {
    /// The target has the effect under this key.
    Found(Applied),
    /// The target has nothing under this key: safe to try again.
    NotFound,
    /// The probe itself failed; still unknown.
    Failed(String),
}

/// The clients connectors share.
#[derive(Debug, Clone)]
pub struct Connectors {
    http: reqwest::Client,
    nats: async_nats::jetstream::Context,
    postgres: postgres::PgTargets,
}

impl Connectors {
    /// Connectors over these clients.
    pub fn new(http: reqwest::Client, nats: async_nats::jetstream::Context) -> Self {
        Self {
            http,
            nats,
            postgres: postgres::PgTargets::default(),
        }
    }

    /// Sends `body` with idempotency key `key`.
    pub async fn call(&self, settings: &ActionSettings, key: &str, body: &Value) -> Called {
        match &settings.target {
            Target::Http { url, id_field, .. } => {
                http::post(&self.http, url, id_field, settings.timeout, key, body).await
            }
            Target::Nats { subject } => {
                nats::publish(&self.nats, subject, settings.timeout, key, body).await
            }
            Target::Postgres(target) => {
                self.postgres
                    .apply(target, settings.timeout, key, body)
                    .await
            }
        }
    }

    /// Undoes the effect stored under `key` as the effect
    /// `compensation_key`, where the connector knows how (a postgres
    /// update puts its previous values back).
    pub async fn revert(
        &self,
        settings: &ActionSettings,
        key: &str,
        compensation_key: &str,
    ) -> Called {
        match &settings.target {
            Target::Postgres(target) => {
                self.postgres
                    .revert(target, settings.timeout, key, compensation_key)
                    .await
            }
            _ => Called::Failed {
                class: FailureClass::Permanent,
                reason: "this connector cannot undo its effect; declare a compensation action"
                    .into(),
            },
        }
    }

    /// Reads the record `external_id` back from the target, for outcome
    /// verification; `Err` when the connector cannot or the target does not
    /// answer.
    pub async fn read_back(
        &self,
        settings: &ActionSettings,
        external_id: &str,
    ) -> Result<Option<Value>, String> {
        match &settings.target {
            Target::Http {
                verify_url: Some(url),
                ..
            } => http::read_back(&self.http, url, settings.timeout, external_id).await,
            _ => Err("this action has no verify_url to read its record back from".into()),
        }
    }

    /// Asks the target whether it has an effect under `key`, if it can say.
    pub async fn probe(&self, settings: &ActionSettings, key: &str) -> Option<Probed> {
        match &settings.target {
            Target::Http {
                probe_url: Some(probe),
                id_field,
                ..
            } => Some(http::probe(&self.http, probe, id_field, settings.timeout, key).await),
            Target::Postgres(target) => {
                Some(self.postgres.probe(target, settings.timeout, key).await)
            }
            _ => None,
        }
    }
}
