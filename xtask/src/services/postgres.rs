//! A private PostgreSQL: a cluster initialised once with trust authentication for the
//! `postgres` user on loopback, as the tests expect. PostgreSQL refuses to run as root, so as
//! root the cluster belongs to the `postgres` system user and the server is started through
//! `setpriv`, which changes user and then execs (the recorded pid is the server's own).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use super::{Started, install, spawn_server};
use crate::cmd;

/// Debian keeps the server programs out of PATH, under `/usr/lib/postgresql/<major>/bin`.
fn find(program: &str) -> Option<PathBuf> {
    if let Some(p) = cmd::which(program) {
        return Some(p);
    }
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir("/usr/lib/postgresql").ok()?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    dirs.sort_by_key(|d| {
        d.file_name().and_then(|n| n.to_str()).and_then(|n| n.parse::<u32>().ok()).unwrap_or(0)
    });
    dirs.iter().rev().map(|d| d.join("bin").join(program)).find(|p| p.exists())
}

fn programs() -> Result<(PathBuf, PathBuf)> {
    if let (Some(initdb), Some(server)) = (find("initdb"), find("postgres")) {
        return Ok((initdb, server));
    }
    // Installs the package (and with it the `postgres` system user) when missing.
    install::ensure(&["pg_ctlcluster", "initdb"], "postgresql")?;
    match (find("initdb"), find("postgres")) {
        (Some(i), Some(s)) => Ok((i, s)),
        _ => bail!("installed postgresql but found no initdb/postgres under /usr/lib/postgresql"),
    }
}

/// `program` run as the `postgres` user when we are root, else as ourselves.
fn as_owner(program: &Path) -> Command {
    if cmd::is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=postgres", "--regid=postgres", "--init-groups", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// The `postgres` user must be able to walk down to its directory. An ancestor without the
/// others-execute bit is given it only inside the system's temporary directory (a 0700
/// `tempfile` directory, as tests use); anywhere else (a home directory, say) we change
/// nothing and say what to do instead.
fn let_postgres_through(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    // Resolved first, so `..` or a symbolic link cannot lead out of the temporary directory.
    let temp = std::env::temp_dir().canonicalize()?;
    let dir = dir.canonicalize()?;
    for ancestor in dir.ancestors().skip(1) {
        let mode = std::fs::metadata(ancestor)?.permissions().mode();
        if mode & 0o001 != 0 {
            continue;
        }
        if !(ancestor.starts_with(&temp) && ancestor != temp) {
            bail!(
                "the postgres user cannot reach {} ({} is mode {:o}); put the state directory \
                 (CARGO_TARGET_DIR) where other users can pass, or start PostgreSQL yourself and \
                 set TIERSTORE_TEST_POSTGRES_URL",
                dir.display(),
                ancestor.display(),
                mode & 0o777
            );
        }
        std::fs::set_permissions(ancestor, std::fs::Permissions::from_mode(mode | 0o001))
            .with_context(|| format!("letting the postgres user pass through {}", ancestor.display()))?;
    }
    Ok(())
}

pub(super) fn start(dir: &Path, port: u16) -> Result<Started> {
    let (initdb, server) = programs()?;
    let data = dir.join("data");
    if cmd::is_root() {
        cmd::run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir))
            .context("giving the state directory to the postgres user")?;
        let_postgres_through(dir)?;
    }
    if !data.join("PG_VERSION").exists() {
        let scratch = dir.join("data.init");
        if scratch.exists() {
            std::fs::remove_dir_all(&scratch)?;
        }
        cmd::output(as_owner(&initdb).arg("-D").arg(&scratch).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ]))?;
        std::fs::rename(&scratch, &data)?;
    }
    let mut c = as_owner(&server);
    c.arg("-D").arg(&data).args(["-p", &port.to_string(), "-h", "127.0.0.1", "-k"]).arg(dir).args([
        "-c",
        "max_connections=300",
        "-c",
        "fsync=off",
    ]);
    let child = spawn_server(&mut c, &dir.join("postgres.log"))?;
    Ok(Started {
        child,
        url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        program: server.to_string_lossy().into_owned(),
    })
}
