//! Finding server binaries, and installing the Debian package when one is missing.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Result, bail};

use crate::cmd;

/// Returns the first of `binaries` found, installing `package` with apt-get first when none
/// is found and we run as root on Debian/Ubuntu. Otherwise fails with the exact command to run.
pub fn ensure(binaries: &[&str], package: &str) -> Result<PathBuf> {
    if let Some(p) = binaries.iter().find_map(cmd::which) {
        return Ok(p);
    }
    let command = format!("apt-get install -y --no-install-recommends {package}");
    let debian = std::path::Path::new("/etc/debian_version").exists() && cmd::which("apt-get").is_some();
    if !debian {
        bail!(
            "none of {} is installed and this is not a Debian/Ubuntu machine; install {package} \
             (the server package) with your system's package manager",
            binaries.join(", ")
        );
    }
    if !cmd::is_root() {
        bail!("none of {} is installed; run: sudo {command}", binaries.join(", "));
    }
    eprintln!("xtask: {} missing, installing the Debian package {package}", binaries.join("/"));
    if apt_install(package).is_err() {
        // A fresh machine may have empty package lists.
        cmd::run(Command::new("apt-get").args(["update", "-q"]).env("DEBIAN_FRONTEND", "noninteractive"))?;
        apt_install(package)?;
    }
    match binaries.iter().find_map(cmd::which) {
        Some(p) => Ok(p),
        None => bail!("installed {package} but found none of {}", binaries.join(", ")),
    }
}

fn apt_install(package: &str) -> Result<()> {
    cmd::run(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends", package])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}
