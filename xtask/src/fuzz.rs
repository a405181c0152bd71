//! `cargo xtask fuzz [TARGET...] [--seconds N]`: the coverage-guided fuzz targets of `fuzz/`
//! (libFuzzer through `libfuzzer-sys`), each run for a fixed time.
//!
//! They are built on the stable toolchain with the same instrumentation `cargo fuzz` asks
//! for (`-C passes=sancov-module` and the sanitizer-coverage options), for the host target
//! explicitly so that build scripts and proc-macros stay uninstrumented, into
//! `target/fuzz/`. Each target starts from the committed seeds in `fuzz/seeds/<target>/`,
//! grows a corpus in `target/fuzz/corpus/<target>/` that later runs continue from, and writes
//! a crashing input to `target/fuzz/artifacts/<target>/`; a crash fails the task, naming it.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cmd;

/// The targets of `fuzz/Cargo.toml`, in the order they run.
pub const TARGETS: [&str; 7] = ["pyjson", "pyfloat", "journal", "klines", "positions", "gbk", "hot_codec"];

const RUSTFLAGS: &str = "-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks";

/// Builds the targets and runs each chosen one (all if none) for `seconds`.
pub fn run(chosen: &[String], seconds: u64) -> Result<()> {
    for c in chosen {
        if !TARGETS.contains(&c.as_str()) {
            bail!("no fuzz target named {c:?}; known: {}", TARGETS.join(", "));
        }
    }
    let targets: Vec<&str> = if chosen.is_empty() {
        TARGETS.to_vec()
    } else {
        TARGETS.iter().copied().filter(|t| chosen.iter().any(|c| c == t)).collect()
    };
    let root = crate::project_root();
    let host = host_triple()?;
    let target_dir = root.join("target/fuzz");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(&cargo);
    build
        .current_dir(&root)
        .env("RUSTFLAGS", RUSTFLAGS)
        .args([
            "build",
            "--release",
            "--package",
            "tierstore-fuzz",
            "--bins",
            "--target",
            &host,
            "--target-dir",
        ])
        .arg(&target_dir);
    cmd::run(&mut build).context("building the fuzz targets")?;
    for t in targets {
        let corpus = target_dir.join("corpus").join(t);
        let seeds = root.join("fuzz/seeds").join(t);
        let artifacts = target_dir.join("artifacts").join(t);
        std::fs::create_dir_all(&corpus)?;
        std::fs::create_dir_all(&artifacts)?;
        let binary: PathBuf = target_dir.join(&host).join("release").join(t);
        eprintln!("xtask: fuzzing {t} for {seconds} s");
        let mut run = Command::new(&binary);
        run.arg(&corpus)
            .arg(&seeds)
            .arg(format!("-max_total_time={seconds}"))
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            .arg("-print_final_stats=1");
        cmd::run(&mut run).with_context(|| {
            format!("fuzz target {t} failed: the input that broke it is in {}", artifacts.display())
        })?;
    }
    Ok(())
}

fn host_triple() -> Result<String> {
    let out = cmd::output(Command::new("rustc").arg("-vV"))?;
    out.lines().find_map(|l| l.strip_prefix("host: ")).map(str::to_owned).context("`rustc -vV` names no host")
}
