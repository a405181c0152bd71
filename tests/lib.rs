//! End-to-end tests of tierstore: across tiers, and of the `storectl` binary as users run it.
//!
//! Tests are flat files named by what they exercise (`storectl_*.rs`, `cross_*.rs`), in the
//! manner of tokio's `tests-integration`. What they share lives in `support/`, a module each
//! test file includes (the `CARGO_BIN_EXE_*` path of the program under test only exists for
//! test targets, not for this library).
