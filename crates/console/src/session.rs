//! Server-side sessions: a random id in the cookie, everything else (the
//! operator's name, role, ledger client and CSRF token) in memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ring::rand::{SecureRandom as _, SystemRandom};
use sluice_ledger::{LedgerClient, Role};
use subtle::ConstantTimeEq as _;

use crate::error::Error;

/// The session cookie's name.
pub const COOKIE: &str = "sluice_session";

/// One signed-in operator.
#[derive(Debug, Clone)]
pub struct Session {
    /// The name the ledger knows the operator by.
    pub name: String,
    /// The operator's role.
    pub role: Role,
    /// A ledger client sending the operator's own token.
    pub ledger: LedgerClient,
    /// The token every form of this session carries.
    pub csrf: String,
    expires: Instant,
}

impl Session {
    /// Whether the operator may decide review items.
    pub fn may_decide(&self) -> bool {
        matches!(self.role, Role::Reviewer | Role::Admin)
    }

    /// Whether the operator may replay and discard dead letters and turn
    /// switches off and on (the ledger checks again).
    pub fn may_operate(&self) -> bool {
        matches!(self.role, Role::Sre | Role::Admin)
    }

    /// Whether `presented` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, presented: &str) -> bool {
        !presented.is_empty() && bool::from(self.csrf.as_bytes().ct_eq(presented.as_bytes()))
    }
}

/// The sessions of this console process.
#[derive(Debug, Clone)]
pub struct Sessions {
    ttl: Duration,
    random: SystemRandom,
    by_id: Arc<Mutex<HashMap<String, Session>>>,
}

impl Sessions {
    /// An empty store whose sessions last `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            random: SystemRandom::new(),
            by_id: Arc::default(),
        }
    }

    /// Starts a session; returns its id (the cookie's value).
    pub fn create(&self, name: String, role: Role, ledger: LedgerClient) -> Result<String, Error> {
        let id = self.token()?;
        let session = Session {
            name,
            role,
            ledger,
            csrf: self.token()?,
            expires: Instant::now() + self.ttl,
        };
        let mut by_id = self.by_id.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        by_id.retain(|_, s| s.expires > now);
        by_id.insert(id.clone(), session);
        Ok(id)
    }

    /// The live session with this id; an expired one is forgotten.
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut by_id = self.by_id.lock().unwrap_or_else(PoisonError::into_inner);
        let session = by_id.get(id)?;
        if session.expires <= Instant::now() {
            by_id.remove(id);
            return None;
        }
        Some(session.clone())
    }

    /// Ends a session.
    pub fn remove(&self, id: &str) {
        let mut by_id = self.by_id.lock().unwrap_or_else(PoisonError::into_inner);
        by_id.remove(id);
    }

    /// How long a session lasts.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn token(&self) -> Result<String, Error> {
        let mut bytes = [0_u8; 32];
        self.random.fill(&mut bytes).map_err(|_| Error::Random)?;
        Ok(hex::encode(bytes))
    }
}
