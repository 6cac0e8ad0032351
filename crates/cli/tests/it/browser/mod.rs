//! The review console in headless Chromium, against a whole stack.

mod dead_letters;
mod driver;
mod review;
mod switches;
