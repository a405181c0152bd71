//! Developer automation for tierstore, in Rust (the rust-analyzer `xtask` pattern).
//!
//! `cargo xtask services up|status|down|run` makes Redis, a MySQL-compatible server, PostgreSQL and
//! ClickHouse reachable for tests and demos, `cargo xtask ci` runs everything CI runs,
//! `cargo xtask fuzz` runs the fuzz targets of `fuzz/` for a fixed time, and
//! whatever a run starts it stops again on every way out (`session`). This crate owns
//! process management of those servers; it knows nothing of tierstore's own code and never
//! links it, so it builds fast and keeps working when the workspace does not compile.

pub mod bench;
pub mod chdb;
pub mod ci;
pub mod cmd;
pub mod demo;
pub mod fuzz;
pub mod services;
pub mod session;
pub mod tidy;

use std::path::PathBuf;

/// The workspace root (the parent of this crate's directory).
pub fn project_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set (a relative one taken from the
/// current directory, as cargo does), else the workspace's `target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(dir) => std::path::absolute(&dir).unwrap_or(dir),
        None => project_root().join("target"),
    }
}
