//! `cargo xtask ci`: what CI runs, in order, failing at the first failure.

use std::process::Command;

use anyhow::{Context, Result};

use crate::cmd;
use crate::services::{self, Layout, Service};
use crate::session::Session;

/// Options of `cargo xtask ci`.
#[derive(Debug, Clone, Default)]
pub struct CiOptions {
    /// Leave services this run started running afterwards.
    pub keep_services: bool,
}

/// Services up, `cargo fmt --check`, clippy with `-D warnings`, every test with the service
/// URLs in the environment, then services down — only those this run started, and on every
/// way out (see [`Session`]).
pub fn run(opts: &CiOptions) -> Result<()> {
    let layout = Layout::default_for_workspace();
    let wanted: Vec<(Service, String)> = Service::ALL.iter().map(|s| (*s, s.configured_url())).collect();
    let session = Session::up(&layout, &wanted, opts.keep_services).context("bringing services up")?;
    for r in session.running() {
        eprintln!(
            "xtask: {} {} ({:?}, version {})",
            r.service,
            services::redact(&r.url),
            r.origin,
            r.version
        );
    }
    checks(session.running())
}

fn checks(running: &[services::Running]) -> Result<()> {
    let root = crate::project_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let chdb = crate::chdb::ensure().context("installing chDB for the modern-server SQL test")?;
    let with_env = |c: &mut Command| {
        c.current_dir(&root);
        for r in running {
            c.env(r.service.env_var(), &r.url);
        }
        c.env(crate::chdb::ENV, &chdb);
    };

    let mut fmt = Command::new(&cargo);
    fmt.args(["fmt", "--all", "--", "--check"]);
    with_env(&mut fmt);
    cmd::run(&mut fmt).context("formatting differs; run `cargo fmt`")?;

    let mut clippy = Command::new(&cargo);
    clippy.args(["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"]);
    with_env(&mut clippy);
    cmd::run(&mut clippy)?;

    let nextest =
        Command::new(&cargo).args(["nextest", "--version"]).output().is_ok_and(|o| o.status.success());
    let mut test = Command::new(&cargo);
    if nextest {
        test.args(["nextest", "run", "--workspace", "--locked", "--no-fail-fast"]);
    } else {
        test.args(["test", "--workspace", "--locked", "--no-fail-fast"]);
    }
    with_env(&mut test);
    cmd::run(&mut test)?;

    if nextest {
        // nextest does not run doc tests.
        let mut doc = Command::new(&cargo);
        doc.args(["test", "--workspace", "--locked", "--doc"]);
        with_env(&mut doc);
        cmd::run(&mut doc)?;
    }
    Ok(())
}
