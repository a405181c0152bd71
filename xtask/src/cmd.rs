//! Running commands with clear errors.

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The process group of the command [`run`] is waiting for (0: none).
static RUNNING: AtomicU32 = AtomicU32::new(0);

/// Runs a command to completion with inherited stdio; fails naming the command if it fails.
/// The command runs in a process group of its own, so that a signal to xtask can stop it and
/// everything it started ([`stop_running_command`]).
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = show(cmd);
    eprintln!("$ {shown}");
    let mut child = cmd.process_group(0).spawn().with_context(|| format!("could not start `{shown}`"))?;
    RUNNING.store(child.id(), Ordering::SeqCst);
    let status = child.wait();
    RUNNING.store(0, Ordering::SeqCst);
    let status = status.with_context(|| format!("waiting for `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed with {status}");
    }
    Ok(())
}

/// Sends SIGTERM to the process group of the command [`run`] is waiting for, and SIGKILL if
/// it is still there 10 s later.
pub fn stop_running_command() {
    let pgid = RUNNING.swap(0, Ordering::SeqCst);
    if pgid == 0 {
        return;
    }
    let group = format!("-{pgid}");
    let signal = |sig: &str| {
        Command::new("kill")
            .args([sig, "--", &group])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    signal("-TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    // `kill -0` succeeds while any process of the group is alive.
    while signal("-0") {
        if Instant::now() > deadline {
            signal("-KILL");
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs a command and returns its stdout; stderr is included in the error if it fails.
pub fn output(cmd: &mut Command) -> Result<String> {
    let shown = show(cmd);
    let out = cmd.stdin(Stdio::null()).output().with_context(|| format!("could not start `{shown}`"))?;
    if !out.status.success() {
        bail!(
            "`{shown}` failed with {}: {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A command line as text, for messages.
pub fn show(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// Finds an executable on `PATH`, or in the sbin directories that a non-root `PATH` often lacks.
pub fn which(name: impl AsRef<OsStr>) -> Option<PathBuf> {
    let name = name.as_ref();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let extra = ["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin"].map(PathBuf::from);
    std::env::split_paths(&path).chain(extra).map(|dir| dir.join(name)).find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}
