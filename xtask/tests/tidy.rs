//! Repository conventions that are cheap to check and easy to forget (rust-analyzer's "tidy"):
//! every Rust file says what it is for, dependency versions live once in the workspace, and no
//! shell script exists beyond `.ci/run`.

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
