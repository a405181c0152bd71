//! End-to-end tests of tierstore: across tiers, and of the `storectl` binary as users run it.
//!
//! Tests are flat files named by what they exercise (`storectl_*.rs`, `cross_*.rs`), in the
//! manner of tokio's `tests-integration`. This library holds what they share: building and
//! running `storectl`.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The `storectl` binary of this workspace, built once per test process with the profile the
/// tests themselves were built with. A binary-only package cannot be a dev-dependency, so the
/// tests build it — with the very command `cargo xtask ci` runs before the tests
/// ([`BUILD_BINS`]), so under CI this is a no-op, and features resolve the same way (building
/// `-p storectl` alone would unify features differently and recompile half the tree).
pub fn storectl_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("test executable path");
        // target/<profile>/deps/<test> -> target/<profile>
        let profile_dir = exe.parent().and_then(|d| d.parent()).expect("target/<profile>").to_path_buf();
        let profile = profile_dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug").to_owned();
        let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(BUILD_BINS).arg("--quiet");
        build.arg("--target-dir").arg(&target_dir);
        if profile != "debug" {
            build.args(["--profile", &profile]);
        }
        build.current_dir(env!("CARGO_MANIFEST_DIR"));
        let status = build.status().expect("running cargo build for storectl");
        assert!(status.success(), "building storectl failed");
        profile_dir.join("storectl")
    })
    .clone()
}

/// `cargo` arguments that build every binary of the workspace.
pub const BUILD_BINS: &[&str] = &["build", "--workspace", "--bins"];

/// Runs `storectl` with `args`, with no TIERSTORE_* variable inherited from the caller's
/// environment except those given in `env`.
pub fn storectl(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(storectl_binary());
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("TIERSTORE_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("running storectl")
}
