//! Repository conventions that are cheap to check and easy to forget (rust-analyzer's "tidy"):
//! every Rust file says what it is for, dependency versions live once in the workspace, no
//! shell script exists beyond `.ci/run`, tests reach only this machine, and the crate
//! boundaries of docs/ARCHITECTURE.md hold.

#![allow(clippy::unwrap_used)] // a test that cannot read the tree should panic

use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | ".git" | "node_modules") {
                files(&path, out);
            }
        } else {
            out.push(path);
        }
    }
}

fn tree() -> Vec<PathBuf> {
    let mut out = Vec::new();
    files(&xtask::project_root(), &mut out);
    out
}

#[test]
fn every_rust_file_starts_with_a_doc_comment() {
    let missing: Vec<String> = tree()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` doc saying what they are for:\n{}",
        missing.join("\n")
    );
}

#[test]
fn dependency_versions_live_in_the_workspace_manifest() {
    let root = xtask::project_root();
    let offenders: Vec<String> = tree()
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "Cargo.toml") && p.parent() != Some(root.as_path()))
        .flat_map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let mut in_deps = false;
            let mut bad = Vec::new();
            for line in text.lines() {
                let l = line.trim();
                if l.starts_with('[') {
                    in_deps = l.contains("dependencies");
                    continue;
                }
                if in_deps && !l.is_empty() && !l.starts_with('#') && !l.contains("workspace = true") {
                    bad.push(format!("{}: {l}", p.display()));
                }
            }
            bad
        })
        .collect();
    assert!(offenders.is_empty(), "declare these in [workspace.dependencies]:\n{}", offenders.join("\n"));
}

#[test]
fn member_crates_describe_themselves_and_use_workspace_lints() {
    let root = xtask::project_root();
    for p in tree().into_iter().filter(|p| p.file_name().is_some_and(|n| n == "Cargo.toml")) {
        if p.parent() == Some(root.as_path()) {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("description = "), "{} has no description", p.display());
        assert!(
            text.contains("[lints]\nworkspace = true"),
            "{} does not use the workspace lints",
            p.display()
        );
    }
}

#[test]
fn no_shell_scripts_beyond_ci_run() {
    let root = xtask::project_root();
    let scripts: Vec<String> = tree()
        .into_iter()
        .filter(|p| p != &root.join(".ci/run"))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "sh" || e == "bash")
                || std::fs::read(p).map(|b| b.starts_with(b"#!")).unwrap_or(false)
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(scripts.is_empty(), "automation belongs in xtask, not in scripts:\n{}", scripts.join("\n"));
}

/// Whether a Rust file is test, benchmark or test-support code as a whole.
fn is_test_code(root: &Path, p: &Path) -> bool {
    let rel = p.strip_prefix(root).unwrap_or(p);
    rel.starts_with("crates/testkit")
        || rel.starts_with("xtask")
        || rel.components().any(|c| matches!(c.as_os_str().to_str(), Some("tests" | "benches" | "fuzz")))
}

#[test]
fn tests_benches_and_test_support_reach_only_this_machine() {
    let root = xtask::project_root();
    let mut found = Vec::new();
    for p in tree().into_iter().filter(|p| p.extension().is_some_and(|e| e == "rs")) {
        let text = std::fs::read_to_string(&p).unwrap();
        // Elsewhere only the unit tests at the end of a file (`#[cfg(test)]` onwards) count.
        let (offset, checked) = if is_test_code(&root, &p) {
            (0, text.as_str())
        } else {
            match text.find("#[cfg(test)]") {
                // `#[cfg(test)]` starts a line: the lines before it come first.
                Some(i) => (text[..i].lines().count(), &text[i..]),
                None => continue,
            }
        };
        for (line, literal) in xtask::tidy::non_loopback_addresses(checked) {
            found.push(format!("{}:{}: {literal}", p.display(), line + offset));
        }
    }
    assert!(
        found.is_empty(),
        "tests, benchmarks and tools talk only to 127.0.0.0/8 and [::1] (docs/ARCHITECTURE.md); \
         to simulate a silent server, listen on loopback and never answer. Found:\n{}",
        found.join("\n")
    );
}

const TIERS: [&str; 4] = ["tierstore-legacy", "tierstore-hot", "tierstore-warm", "tierstore-cool"];

fn deps_of(crate_dir: &str) -> Vec<String> {
    let manifest = std::fs::read_to_string(xtask::project_root().join(crate_dir).join("Cargo.toml")).unwrap();
    xtask::tidy::dependency_names(&manifest)
}

#[test]
fn tiers_know_only_the_model_and_storectl_only_core() {
    let ours = |d: &String| d.starts_with("tierstore") || d == "storectl";
    let mut wrong = Vec::new();
    for (dir, package) in [
        ("crates/legacy", TIERS[0]),
        ("crates/hot", TIERS[1]),
        ("crates/warm", TIERS[2]),
        ("crates/cool", TIERS[3]),
    ] {
        for d in deps_of(dir).iter().filter(|d| ours(d)) {
            // Contract suites and test fixtures are dev-only and know no tier themselves; the
            // warm tier's schema lives apart, in `migrations/`, and only the warm tier uses it.
            let own_schema = package == "tierstore-warm" && d == "tierstore-migrations";
            if !own_schema
                && !matches!(d.as_str(), "tierstore-model" | "tierstore-contract" | "tierstore-testkit")
            {
                wrong.push(format!("{package} depends on {d}: tiers never depend on each other or on core"));
            }
        }
    }
    for (dir, allowed) in [
        ("crates/model", &[][..]),
        ("migrations", &[][..]),
        ("crates/contract", &["tierstore-model"][..]),
        ("crates/testkit", &["tierstore-model"][..]),
        ("crates/storectl", &["tierstore", "tierstore-model"][..]),
    ] {
        for d in deps_of(dir).iter().filter(|d| ours(d)) {
            if !allowed.contains(&d.as_str()) {
                wrong.push(format!("{dir} depends on {d}; allowed: {allowed:?}"));
            }
        }
    }
    assert!(wrong.is_empty(), "crate boundaries (docs/ARCHITECTURE.md):\n{}", wrong.join("\n"));
}
