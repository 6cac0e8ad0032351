//! The review console in headless Chromium, against a whole stack.

mod driver;
mod review;
