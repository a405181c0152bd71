//! `cargo xtask bench [NAME...]`: the project's benchmarks, each a `harness = false` bench
//! target that prints a table and one JSON object per line.

use std::process::Command;

use anyhow::{Result, bail};

use crate::cmd;

/// A benchmark: name, package, bench target, what it measures.
pub const BENCHES: &[(&str, &str, &str, &str)] = &[(
    "legacy",
    "tierstore-legacy",
    "kline_parse",
    "kline parsing throughput on 5,000 stocks x 1,250 days (and generating that dataset)",
)];

/// Runs the named benchmarks, or all of them.
pub fn run(names: &[String]) -> Result<()> {
    let chosen: Vec<_> = if names.is_empty() {
        BENCHES.iter().collect()
    } else {
        let mut v = Vec::new();
        for n in names {
            match BENCHES.iter().find(|b| b.0 == n) {
                Some(b) => v.push(b),
                None => {
                    let known: Vec<&str> = BENCHES.iter().map(|b| b.0).collect();
                    bail!("no benchmark named {n:?}; known: {}", known.join(", "));
                }
            }
        }
        v
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for (name, package, target, what) in chosen {
        eprintln!("xtask: bench {name}: {what}");
        cmd::run(Command::new(&cargo).current_dir(crate::project_root()).args([
            "bench",
            "--package",
            package,
            "--bench",
            target,
        ]))?;
    }
    Ok(())
}
