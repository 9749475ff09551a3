//! The integration tests: one binary (one link, one `cargo test` target), one module per area, all
//! through `support` (one environment-isolation policy for every command they run). Run one area
//! with `cargo test --test it explain::`; `tests/e2e.rs` is separate (why: the README, "Development").

#[path = "../support/mod.rs"]
mod support;

mod bad_input;
mod cli;
mod completion;
mod connection;
mod diagnose;
mod explain;
mod krew;
mod readme;
mod restart;
mod signals;
