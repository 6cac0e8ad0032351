//! Integration tests of the runtime plumbing over real sockets.

mod health;
