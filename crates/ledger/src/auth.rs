//! Who is calling, and may they?
//!
//! Every request passes the [`Authenticator`] interceptor, which puts the
//! caller's [`Identity`] into the request's extensions: from a bearer token
//! (`authorization: Bearer <token>`, looked up in the configured
//! [`TokenTable`]) or, when mTLS is configured, from the verified client
//! certificate. Each RPC then checks the role with [`authorize`]. The "who"
//! recorded in journals and key events comes from this identity, never from a
//! request field.
//!
//! With no tokens and no TLS configured the ledger runs in an explicitly
//! logged *insecure dev mode*: every caller is `dev` with the admin role.

use std::fmt;
use std::str::FromStr;

use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::error::Error;

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A Sluice service (executor, ingest…): keys, transitions, reads.
    Service,
    /// Operations staff deciding review items.
    Reviewer,
    /// Site reliability: dead letters, replays, kill switches.
    Sre,
    /// Everything.
    Admin,
    /// An upstream system (or a person) starting executions through
    /// ingest's trigger endpoint: it may only ask who it is, which is how
    /// ingest checks the token.
    Trigger,
}

impl Role {
    /// The configuration spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Service => "service",
            Role::Reviewer => "reviewer",
            Role::Sre => "sre",
            Role::Admin => "admin",
            Role::Trigger => "trigger",
        }
    }
}

impl FromStr for Role {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        [
            Role::Service,
            Role::Reviewer,
            Role::Sre,
            Role::Admin,
            Role::Trigger,
        ]
        .into_iter()
        .find(|role| role.as_str() == s)
        .ok_or_else(|| {
            Error::Config(format!(
                "unknown role {s:?}: use service, reviewer, sre, admin or trigger"
            ))
        })
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The name recorded in audit rows.
    pub name: String,
    /// What the caller may do.
    pub role: Role,
}

/// Bearer tokens and the identities they stand for.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TokenTable {
    entries: Vec<(String, Identity)>,
}

impl fmt::Debug for TokenTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the tokens themselves.
        let names: Vec<_> = self.entries.iter().map(|(_, id)| &id.name).collect();
        f.debug_struct("TokenTable")
            .field("identities", &names)
            .finish()
    }
}

impl TokenTable {
    /// Adds one token.
    pub fn insert(&mut self, token: impl Into<String>, identity: Identity) {
        self.entries.push((token.into(), identity));
    }

    /// Whether no token is configured.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first token granted `role`: what a process running every
    /// service (`sluice dev`) hands its own services.
    pub fn first_token(&self, role: Role) -> Option<&str> {
        self.entries
            .iter()
            .find(|(_, identity)| identity.role == role)
            .map(|(token, _)| token.as_str())
    }

    /// Finds the identity of a token. Compares against every entry in
    /// constant time per entry, so timing does not reveal a near miss.
    pub fn lookup(&self, token: &str) -> Option<&Identity> {
        let mut found = None;
        for (candidate, identity) in &self.entries {
            if constant_time_eq(candidate.as_bytes(), token.as_bytes()) {
                found = Some(identity);
            }
        }
        found
    }
}

/// Parses `token=role[:name],…` (the `SLUICE_LEDGER_TOKENS` format). A token
/// without a name is recorded under its role's name.
impl FromStr for TokenTable {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let mut table = TokenTable::default();
        for entry in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (token, grant) = entry.split_once('=').ok_or_else(|| {
                Error::Config("token entries look like token=role[:name]".to_owned())
            })?;
            if token.len() < 16 {
                return Err(Error::Config(
                    "tokens must be at least 16 characters long".to_owned(),
                ));
            }
            let (role, name) = grant.split_once(':').unwrap_or((grant, ""));
            let role: Role = role.parse()?;
            let name = if name.is_empty() { role.as_str() } else { name };
            table.insert(
                token,
                Identity {
                    name: name.to_owned(),
                    role,
                },
            );
        }
        Ok(table)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The interceptor that authenticates every request.
#[derive(Debug, Clone)]
pub struct Authenticator {
    tokens: std::sync::Arc<TokenTable>,
    mtls: bool,
    insecure_dev: bool,
}

impl Authenticator {
    /// Builds the authenticator. `mtls` says whether verified client
    /// certificates identify callers; with no tokens and no TLS at all the
    /// ledger is in insecure dev mode.
    pub fn new(tokens: TokenTable, tls: bool, mtls: bool) -> Self {
        let insecure_dev = tokens.is_empty() && !tls;
        if insecure_dev {
            tracing::warn!(
                "INSECURE DEV MODE: no tokens and no TLS configured; every caller is `dev` with the admin role"
            );
        }
        Self {
            tokens: std::sync::Arc::new(tokens),
            mtls,
            insecure_dev,
        }
    }

    fn identify<T>(&self, req: &Request<T>) -> Result<Identity, Status> {
        if let Some(header) = req.metadata().get("authorization") {
            let token = header
                .to_str()
                .ok()
                .and_then(|value| value.strip_prefix("Bearer "))
                .ok_or_else(|| Status::unauthenticated("authorization must be `Bearer <token>`"))?;
            return self
                .tokens
                .lookup(token.trim())
                .cloned()
                .ok_or_else(|| Status::unauthenticated("invalid token"));
        }
        if let Some(certs) = req.peer_certs().filter(|_| self.mtls) {
            return certs
                .first()
                .and_then(certificate_name)
                .map(|name| Identity {
                    name,
                    role: Role::Service,
                })
                .ok_or_else(|| Status::unauthenticated("client certificate names nobody"));
        }
        if self.insecure_dev {
            return Ok(Identity {
                name: "dev".to_owned(),
                role: Role::Admin,
            });
        }
        Err(Status::unauthenticated(
            "missing credentials: send `authorization: Bearer <token>`",
        ))
    }
}

/// The caller's name from a (CA-verified) client certificate: its first DNS
/// or URI subject alternative name, e.g. `executor.sluice.svc` or a SPIFFE id.
/// Certificates are issued to services, so they carry the service role.
fn certificate_name(cert: &tonic::transport::CertificateDer<'static>) -> Option<String> {
    let cert = webpki::EndEntityCert::try_from(cert).ok()?;
    let name = cert
        .valid_dns_names()
        .next()
        .or_else(|| cert.valid_uri_names().next())?;
    Some(name.to_owned())
}

impl Interceptor for Authenticator {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        let identity = self.identify(&req)?;
        req.extensions_mut().insert(identity);
        Ok(req)
    }
}

/// Checks that the authenticated caller has one of `allowed`; returns the
/// identity for the audit trail.
pub fn authorize<T>(req: &Request<T>, allowed: &[Role]) -> Result<Identity, Status> {
    let identity = req
        .extensions()
        .get::<Identity>()
        .ok_or_else(|| Status::unauthenticated("no authenticated caller"))?;
    if allowed.contains(&identity.role) {
        Ok(identity.clone())
    } else {
        Err(Status::permission_denied(format!(
            "{} has role {}, this call needs one of {}",
            identity.name,
            identity.role.as_str(),
            allowed
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_tables_parse_and_look_up() {
        let table: TokenTable = "aaaaaaaaaaaaaaaa=service:executor, bbbbbbbbbbbbbbbb=admin"
            .parse()
            .unwrap();
        assert_eq!(table.lookup("aaaaaaaaaaaaaaaa").unwrap().name, "executor");
        assert_eq!(table.lookup("bbbbbbbbbbbbbbbb").unwrap().role, Role::Admin);
        assert!(table.lookup("cccccccccccccccc").is_none());
        assert!(!format!("{table:?}").contains("aaaa"));
        assert!("short=service".parse::<TokenTable>().is_err());
        assert!("aaaaaaaaaaaaaaaa=root".parse::<TokenTable>().is_err());
        assert!("".parse::<TokenTable>().unwrap().is_empty());
    }
}
