//! Operator actions shared by the `sluice` CLI and the review console.
//!
//! Each action is written once, here, so the terminal and the web page do
//! exactly the same thing in the same order (audit first, then the change;
//! check, then decide, then resume); the callers only read input and render
//! output.

pub mod catalog;
pub mod replay;
pub mod review;
pub mod search;
pub mod switches;
pub mod timeline;

pub use catalog::{Catalog, Workflow};
