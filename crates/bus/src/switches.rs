//! Kill switches: one JetStream KV bucket, `<prefix>-switches`, keyed
//! `<workflow>` and `<workflow>.<action>`.
//!
//! A value is a small JSON record saying who set the switch, when, why and
//! how (an operator, or the breaker). The bare strings `off` and `on` are
//! read too, so a switch flipped by hand with the `nats` CLI still counts.
//! An absent key is on. The gate and the executor read switches before every
//! decision and effect, and [`crate::switch_guard`] keeps their consumers
//! paused while one is off, so nothing nak-loops into the dead-letter stream.

use std::fmt;

use async_nats::jetstream::kv;
use chrono::{DateTime, Utc};
use futures::TryStreamExt as _;
use serde::{Deserialize, Serialize};

use crate::Bus;
use crate::error::Error;

/// Where a switch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchState {
    /// Items flow.
    On,
    /// Nothing is decided or executed for what the switch covers.
    Off,
    /// Tripped by the breaker, letting a few canaries through: items pass
    /// while `canaries` remain, then wait as if off.
    HalfOpen,
}

impl SwitchState {
    /// `on`, `off` or `half_open`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SwitchState::On => "on",
            SwitchState::Off => "off",
            SwitchState::HalfOpen => "half_open",
        }
    }

    /// Parses `on`, `off` or `half_open` (any case).
    pub fn parse(value: &str) -> Option<Self> {
        [SwitchState::On, SwitchState::Off, SwitchState::HalfOpen]
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(value.trim()))
    }
}

impl fmt::Display for SwitchState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One switch's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Switch {
    /// Where it stands.
    pub state: SwitchState,
    /// Who set it: the ledger-authenticated identity (an operator, or the
    /// gate's service identity for a breaker trip).
    #[serde(default)]
    pub by: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// When.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// `operator` or `breaker`.
    #[serde(default)]
    pub source: String,
    /// Canaries still allowed through while half-open.
    #[serde(default)]
    pub canaries: u32,
    /// The ledger's audit record of the change, when there is one.
    #[serde(default)]
    pub audit_id: Option<i64>,
}

impl Switch {
    /// Reads a stored value: the JSON record, or a bare `on`/`off`.
    pub fn decode(bytes: &[u8]) -> Self {
        if let Ok(switch) = serde_json::from_slice::<Switch>(bytes) {
            return switch;
        }
        let text = String::from_utf8_lossy(bytes);
        // Anything unreadable counts as off: a garbled switch must stop
        // work, not let it through.
        let state = SwitchState::parse(&text).unwrap_or(SwitchState::Off);
        Switch {
            state,
            by: String::new(),
            reason: String::new(),
            at: None,
            source: "manual".to_owned(),
            canaries: 0,
            audit_id: None,
        }
    }

    /// Whether new decisions covered by this switch must wait (the gate):
    /// off, or half-open with no canary left.
    pub fn holds_decisions(&self) -> bool {
        match self.state {
            SwitchState::On => false,
            SwitchState::Off => true,
            SwitchState::HalfOpen => self.canaries == 0,
        }
    }

    /// Whether effects covered by this switch must wait (the executor): only
    /// off. Half-open admits canaries at the gate, and what the gate admitted
    /// must be able to run.
    pub fn holds_effects(&self) -> bool {
        self.state == SwitchState::Off
    }
}

/// What the gate may do with one item, given the switches.
#[derive(Debug, Clone, PartialEq)]
pub enum Admission {
    /// No switch holds it.
    Open,
    /// A half-open switch let it through as one of its canaries.
    Canary(String),
    /// A switch holds it.
    Held(KeyedSwitch),
}

/// A switch and its key and KV revision.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyedSwitch {
    /// `<workflow>` or `<workflow>.<action>`.
    pub key: String,
    /// The value.
    pub switch: Switch,
    /// The KV revision (for compare-and-set).
    pub revision: u64,
}

/// The kill-switch bucket.
#[derive(Debug, Clone)]
pub struct Switches {
    store: kv::Store,
    bucket: String,
}

/// Whether `key` is a valid switch key: a workflow name, optionally followed
/// by `.<action>`.
pub fn valid_key(key: &str) -> bool {
    sluice_core::subjects::validate_switch_key(key).is_ok()
}

/// The keys that cover `workflow` and, when given, its `action`.
fn covering(workflow: &str, action: Option<&str>) -> impl Iterator<Item = String> {
    std::iter::once(workflow.to_owned()).chain(action.map(|a| format!("{workflow}.{a}")))
}

impl Switches {
    /// Opens the bucket (provisioned with the streams).
    pub async fn open(bus: &Bus) -> Result<Self, Error> {
        Self::open_in(bus.jetstream(), bus.subjects().switches_bucket()).await
    }

    /// Opens the bucket `bucket` through `js`.
    pub async fn open_in(
        js: &async_nats::jetstream::Context,
        bucket: String,
    ) -> Result<Self, Error> {
        let store = js.get_key_value(&bucket).await.map_err(|e| Error::Bucket {
            bucket: bucket.clone(),
            source: e.into(),
        })?;
        Ok(Self { store, bucket })
    }

    fn fail(&self, source: impl Into<async_nats::Error>) -> Error {
        Error::Bucket {
            bucket: self.bucket.clone(),
            source: source.into(),
        }
    }

    /// One switch; `None` when it was never set (on).
    pub async fn get(&self, key: &str) -> Result<Option<KeyedSwitch>, Error> {
        let entry = self.store.entry(key).await.map_err(|e| self.fail(e))?;
        Ok(entry.and_then(|e| {
            (e.operation == kv::Operation::Put).then(|| KeyedSwitch {
                key: e.key,
                switch: Switch::decode(&e.value),
                revision: e.revision,
            })
        }))
    }

    /// Every switch that has a value, sorted by key.
    pub async fn list(&self) -> Result<Vec<KeyedSwitch>, Error> {
        let keys: Vec<String> = self
            .store
            .keys()
            .await
            .map_err(|e| self.fail(e))?
            .try_collect()
            .await
            .map_err(|e| self.fail(e))?;
        let mut switches = Vec::new();
        for key in keys {
            if let Some(switch) = self.get(&key).await? {
                switches.push(switch);
            }
        }
        switches.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(switches)
    }

    /// Stores `switch` under `key`; returns the new revision.
    pub async fn put(&self, key: &str, switch: &Switch) -> Result<u64, Error> {
        let value = serde_json::to_vec(switch).map_err(|e| self.fail(e))?;
        self.store
            .put(key, value.into())
            .await
            .map_err(|e| self.fail(e))
    }

    /// Stores `switch` under `key` only if the key is still at `revision`
    /// (0: only if it does not exist). `Ok(None)` when someone else wrote
    /// first: replicas racing to trip the same breaker write it once.
    pub async fn put_if(
        &self,
        key: &str,
        switch: &Switch,
        revision: u64,
    ) -> Result<Option<u64>, Error> {
        let value = serde_json::to_vec(switch).map_err(|e| self.fail(e))?;
        if revision == 0 {
            return match self.store.create(key, value.into()).await {
                Ok(revision) => Ok(Some(revision)),
                Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(None),
                Err(e) => Err(self.fail(e)),
            };
        }
        match self.store.update(key, value.into(), revision).await {
            Ok(revision) => Ok(Some(revision)),
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(None),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The first switch among `<workflow>` and `<workflow>.<action>` that
    /// is off: what holds an effect.
    pub async fn off(
        &self,
        workflow: &str,
        action: Option<&str>,
    ) -> Result<Option<KeyedSwitch>, Error> {
        for key in covering(workflow, action) {
            if let Some(found) = self.get(&key).await?
                && found.switch.holds_effects()
            {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// Whether the gate may decide an item of `workflow`/`action` now. A
    /// half-open switch hands out its canaries by compare-and-set, so
    /// replicas never let more through than it allows.
    pub async fn admit(&self, workflow: &str, action: Option<&str>) -> Result<Admission, Error> {
        let mut canary = None;
        for key in covering(workflow, action) {
            loop {
                let Some(found) = self.get(&key).await? else {
                    break;
                };
                match found.switch.state {
                    SwitchState::On => break,
                    _ if found.switch.holds_decisions() => return Ok(Admission::Held(found)),
                    _ => {
                        let mut next = found.switch.clone();
                        next.canaries = next.canaries.saturating_sub(1);
                        if self.put_if(&key, &next, found.revision).await?.is_some() {
                            canary = Some(key.clone());
                            break;
                        }
                        // Another replica took one first: read again.
                    }
                }
            }
        }
        Ok(canary.map_or(Admission::Open, Admission::Canary))
    }

    /// A live stream of changes to any switch.
    pub async fn watch(&self) -> Result<kv::Watch, Error> {
        self.store.watch_all().await.map_err(|e| self.fail(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_values_and_records_decode() {
        assert!(Switch::decode(b"off").holds_decisions());
        assert!(Switch::decode(b" OFF\n").holds_effects());
        assert!(!Switch::decode(b"on").holds_decisions());
        assert!(
            Switch::decode(b"garbage").holds_effects(),
            "unreadable is off"
        );
        let half = Switch::decode(br#"{"state":"half_open","canaries":2}"#);
        assert_eq!(half.state, SwitchState::HalfOpen);
        assert!(!half.holds_decisions());
        let spent = Switch::decode(br#"{"state":"half_open","canaries":0}"#);
        assert!(spent.holds_decisions());
        assert!(!spent.holds_effects(), "admitted canaries still run");
    }

    #[test]
    fn keys_are_a_workflow_and_an_optional_action() {
        assert!(valid_key("reservation"));
        assert!(valid_key("reservation.create_booking"));
        assert!(valid_key("crm-enrichment.stage_write"));
        for bad in ["", ".x", "a.", "a.b.c", "a b", "a.*", ">"] {
            assert!(!valid_key(bad), "{bad:?}");
        }
    }
}
