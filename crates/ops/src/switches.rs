//! Kill switches per workflow (`reservation`) and per action
//! (`reservation.create_booking`): reading them with their audit trail, and
//! turning one off or on.
//!
//! A change is audited in the ledger first, under the caller's authenticated
//! identity (a reviewer is refused there), and only then written to the
//! switch bucket with that identity, so the bucket never holds a change the
//! audit trail lacks. The gate and executor watch the bucket: turning a
//! switch off pauses their consumers, turning it on resumes them at once.
//!
//! Breakers (the gate) trip switches themselves: such a switch's `source`
//! and its audit row's `result` are [`BREAKER`], and its `by` is the gate's
//! service identity.

use serde_json::json;
use sluice_bus::{KeyedSwitch, Switch, SwitchState, Switches};
use sluice_ledger::{AuditRecord, LedgerClient, SwitchChange};

/// The audit trail's subject kind for switches.
pub const AUDIT_KIND: &str = "switch";
/// How many of a switch's most recent audit rows [`trail`] reads.
pub const AUDIT_LIMIT: u32 = 100;
/// The source of a change made by a person.
pub const OPERATOR: &str = "operator";
/// The source of a change made by a breaker.
pub const BREAKER: &str = "breaker";

/// What reading or changing a switch can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The key is not `<workflow>` or `<workflow>.<action>`.
    #[error("switch keys look like <workflow> or <workflow>.<action>: {source}")]
    InvalidKey {
        /// Which part of the key is wrong.
        #[source]
        source: sluice_core::Error,
    },
    /// The change has no reason: every audit row must say why.
    #[error("a switch change needs a reason")]
    EmptyReason,
    /// The ledger refused or failed the call (it refuses a reviewer's
    /// change, and a caller without a valid token).
    #[error(transparent)]
    Ledger(#[from] sluice_ledger::Error),
    /// The switch bucket could not be opened or read.
    #[error(transparent)]
    Bus(#[from] sluice_bus::Error),
    /// The change is audited, but the bucket write failed: the switch still
    /// holds its old value. Making the same change again writes it (and
    /// audits it a second time).
    #[error(
        "audited as {audit_id}, but writing switch {key} failed: {source}; make the change again"
    )]
    Unwritten {
        /// The switch.
        key: String,
        /// The audit record already written.
        audit_id: i64,
        /// Why the write failed (boxed: the rarest variant need not make
        /// every result large).
        #[source]
        source: Box<sluice_bus::Error>,
    },
}

/// Checks that `key` is `<workflow>` or `<workflow>.<action>`, each a valid
/// name: the same check the ledger and the bucket's readers apply.
pub fn check_key(key: &str) -> Result<(), Error> {
    sluice_core::subjects::validate_switch_key(key).map_err(|source| Error::InvalidKey { source })
}

/// Where a switch stands: an absent switch is on.
pub fn state_of(current: Option<&KeyedSwitch>) -> SwitchState {
    current.map_or(SwitchState::On, |s| s.switch.state)
}

/// Whether a breaker, not a person, set this value.
pub fn by_breaker(switch: &Switch) -> bool {
    switch.source == BREAKER
}

/// An operator's change, checked when it is made: a valid key, a reason
/// that is not blank, and a state an operator may set (off or on; half-open
/// is the breaker's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    key: String,
    to: SwitchState,
    reason: String,
}

impl Change {
    /// Turns `key` off: nothing it covers is decided or executed.
    pub fn off(key: impl Into<String>, reason: impl Into<String>) -> Result<Self, Error> {
        Self::new(key.into(), SwitchState::Off, reason.into())
    }

    /// Turns `key` on (also ends a breaker's half-open state).
    pub fn on(key: impl Into<String>, reason: impl Into<String>) -> Result<Self, Error> {
        Self::new(key.into(), SwitchState::On, reason.into())
    }

    fn new(key: String, to: SwitchState, reason: String) -> Result<Self, Error> {
        check_key(&key)?;
        if reason.trim().is_empty() {
            return Err(Error::EmptyReason);
        }
        Ok(Self { key, to, reason })
    }

    /// The switch.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The state asked for.
    pub fn to(&self) -> SwitchState {
        self.to
    }

    /// Why, as given (kept in the audit trail and on the switch).
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// What a change would do, without doing it (a dry run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preview {
    /// Where the switch stands now.
    pub from: SwitchState,
    /// Where the change would put it.
    pub to: SwitchState,
}

/// A change made: audited, then written.
#[derive(Debug, Clone, PartialEq)]
pub struct Changed {
    /// The switch.
    pub key: String,
    /// Where it stood before.
    pub from: SwitchState,
    /// The value written, naming the audited identity in `by`.
    pub switch: Switch,
    /// The ledger's audit record of the change.
    pub audit: AuditRecord,
    /// The bucket's new revision of the key.
    pub revision: u64,
}

/// A switch with its audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct Trail {
    /// The switch.
    pub key: String,
    /// Its value; `None` when it was never set (on).
    pub current: Option<KeyedSwitch>,
    /// Its last [`AUDIT_LIMIT`] audit records, oldest first.
    pub audit: Vec<AuditRecord>,
}

/// Every switch that has been set, sorted by key.
pub async fn list(switches: &Switches) -> Result<Vec<KeyedSwitch>, Error> {
    Ok(switches.list().await?)
}

/// One switch and its audit trail (the ledger lets sre and admin read it).
pub async fn trail(switches: &Switches, ledger: &LedgerClient, key: &str) -> Result<Trail, Error> {
    check_key(key)?;
    let current = switches.get(key).await?;
    let audit = ledger.list_audit(AUDIT_KIND, key, AUDIT_LIMIT).await?;
    Ok(Trail {
        key: key.to_owned(),
        current,
        audit,
    })
}

/// What `change` would do now; changes nothing.
pub async fn preview(switches: &Switches, change: &Change) -> Result<Preview, Error> {
    let current = switches.get(&change.key).await?;
    Ok(Preview {
        from: state_of(current.as_ref()),
        to: change.to,
    })
}

/// Makes `change` as the ledger client's identity: audits it, then writes
/// the switch with the identity the ledger recorded.
pub async fn apply(
    switches: &Switches,
    ledger: &LedgerClient,
    change: &Change,
) -> Result<Changed, Error> {
    let from = state_of(switches.get(&change.key).await?.as_ref());
    let audit = ledger
        .record_switch_change(&SwitchChange {
            key: change.key.clone(),
            state: change.to.as_str().to_owned(),
            reason: change.reason.clone(),
            source: OPERATOR.to_owned(),
            detail: Some(json!({ "from": from.as_str() })),
        })
        .await?;
    let switch = Switch {
        state: change.to,
        by: audit.actor.clone(),
        reason: change.reason.clone(),
        at: Some(audit.at),
        source: OPERATOR.to_owned(),
        canaries: 0,
        audit_id: Some(audit.id),
    };
    let revision = switches
        .put(&change.key, &switch)
        .await
        .map_err(|source| Error::Unwritten {
            key: change.key.clone(),
            audit_id: audit.id,
            source: Box::new(source),
        })?;
    tracing::info!(
        key = %change.key,
        from = from.as_str(),
        to = change.to.as_str(),
        by = %audit.actor,
        audit_id = audit.id,
        "switch changed"
    );
    Ok(Changed {
        key: change.key.clone(),
        from,
        switch,
        audit,
        revision,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_needs_a_valid_key_and_a_reason() {
        assert!(Change::off("reservation", "maintenance").is_ok());
        assert!(Change::on("reservation.create_booking", "fixed").is_ok());
        for bad in ["", "a b", "a.b.c", "reservation.*"] {
            assert!(
                matches!(Change::off(bad, "x"), Err(Error::InvalidKey { .. })),
                "{bad:?}"
            );
        }
        assert!(matches!(
            Change::off("reservation", "  \n"),
            Err(Error::EmptyReason)
        ));
    }

    #[test]
    fn the_reason_is_kept_as_given() {
        let change = Change::off("reservation", " maintenance ").ok();
        assert_eq!(change.as_ref().map(Change::reason), Some(" maintenance "));
        assert_eq!(change.map(|c| c.to()), Some(SwitchState::Off));
    }

    #[test]
    fn an_absent_switch_is_on() {
        assert_eq!(state_of(None), SwitchState::On);
    }
}
