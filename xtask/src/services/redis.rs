//! A private Redis: no persistence (tests own their keys), loopback only.

use std::path::Path;
use std::process::Command;

use anyhow::Result;

use super::{Started, install, spawn_server};

pub(super) fn start(dir: &Path, port: u16) -> Result<Started> {
    let bin = install::ensure(&["redis-server"], "redis-server")?;
    let mut cmd = Command::new(&bin);
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .args(["--daemonize", "no", "--protected-mode", "yes"])
        .arg("--dir")
        .arg(dir);
    let child = spawn_server(&mut cmd, &dir.join("redis.log"))?;
    Ok(Started {
        child,
        url: format!("redis://127.0.0.1:{port}"),
        program: bin.to_string_lossy().into_owned(),
    })
}
