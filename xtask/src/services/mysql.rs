//! A private MariaDB (or MySQL): data directory initialised once, root without a password on
//! loopback TCP, as the tests expect.

use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};

use super::{Started, install, spawn_server};
use crate::cmd;

pub(super) fn start(dir: &Path, port: u16) -> Result<Started> {
    let server = install::ensure(&["mariadbd", "mysqld"], "mariadb-server")?;
    let data = dir.join("data");
    let socket = dir.join("mysqld.sock");
    let as_root = cmd::is_root();
    if !data.join("mysql").exists() {
        initialise(&server, &data, as_root)?;
    }
    let mut c = Command::new(&server);
    c.arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .arg(format!("--socket={}", socket.display()))
        .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
        .arg(format!("--port={port}"))
        .args(["--bind-address=127.0.0.1", "--skip-name-resolve", "--character-set-server=utf8mb4"])
        .args([
            "--collation-server=utf8mb4_unicode_ci",
            "--max-connections=500",
            "--innodb-buffer-pool-size=256M",
        ])
        .arg(format!("--log-error={}", dir.join("error.log").display()));
    if as_root {
        c.arg("--user=root");
    }
    let child = spawn_server(&mut c, &dir.join("mysqld.out"))?;
    Ok(Started {
        child,
        url: format!("mysql://root@127.0.0.1:{port}"),
        program: server.to_string_lossy().into_owned(),
    })
}

/// Creates the system tables in a scratch directory renamed into place only when complete, so
/// an interrupted initialisation is redone rather than half-used. The "normal" root
/// authentication creates `root@localhost`, `root@127.0.0.1` and `root@::1` without a password.
fn initialise(server: &Path, data: &Path, as_root: bool) -> Result<()> {
    let scratch = data.with_extension("init");
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch)?;
    }
    std::fs::create_dir_all(&scratch)?;
    if let Some(install_db) = cmd::which("mariadb-install-db").or_else(|| cmd::which("mysql_install_db")) {
        let mut c = Command::new(install_db);
        c.arg("--no-defaults")
            .arg(format!("--datadir={}", scratch.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"]);
        if as_root {
            c.arg("--user=root");
        }
        cmd::output(&mut c)?;
    } else {
        // MySQL 8 has no install-db script: the server initialises itself, root without password.
        let mut c = Command::new(server);
        c.arg("--no-defaults").arg("--initialize-insecure").arg(format!("--datadir={}", scratch.display()));
        if as_root {
            c.arg("--user=root");
        }
        cmd::output(&mut c)?;
    }
    if !scratch.join("mysql").exists() {
        bail!("initialising {} left no system tables", scratch.display());
    }
    if data.exists() {
        std::fs::remove_dir_all(data)?;
    }
    std::fs::rename(&scratch, data)?;
    Ok(())
}
