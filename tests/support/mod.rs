//! What the end-to-end test files share: running `storectl` as a user would.

#![allow(dead_code)] // each test file uses part of it

use std::path::PathBuf;
use std::process::{Command, Output};

/// The `storectl` program, built by cargo together with these tests (see `storectl_e2e.rs`).
pub fn storectl_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_storectl-e2e"))
}

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

/// [`storectl`] with `input` on standard input.
pub fn storectl_with_input(
    args: &[&str],
    env: &[(&str, &str)],
    input: &str,
    cwd: &std::path::Path,
) -> Output {
    use std::io::Write as _;
    let mut cmd = Command::new(storectl_binary());
    cmd.args(args).current_dir(cwd);
    for (k, _) in std::env::vars() {
        if k.starts_with("TIERSTORE_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("starting storectl");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).expect("writing storectl's input");
    }
    child.wait_with_output().expect("running storectl")
}
