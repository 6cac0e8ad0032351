//! The deployment in `deploy/` holds together: the NATS production
//! configuration passes the server's own check and its permissions carry
//! the pipeline and nothing more.

mod console_user;
mod manifests;
mod nats_permissions;
pub mod nats_server;
mod rendered;
