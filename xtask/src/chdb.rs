//! chDB, an embedded current ClickHouse engine (the `chdb-core` Python package), for the test
//! that runs the cool tier's modern-server DDL and queries on a modern engine: CI has only
//! Debian's ClickHouse 18.16. Installed once per machine into a virtual environment under the
//! user's cache directory; its interpreter reaches tests as `TIERSTORE_TEST_CHDB_PYTHON`.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cmd;

/// The engine version the test is written against (ClickHouse 26.9).
pub const CHDB_CORE: &str = "26.9.0";

/// The environment variable naming the interpreter.
pub const ENV: &str = "TIERSTORE_TEST_CHDB_PYTHON";

fn venv_dir() -> Result<PathBuf> {
    let cache = match std::env::var_os("XDG_CACHE_HOME") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?).join(".cache"),
    };
    Ok(cache.join("tierstore").join(format!("chdb-core-{CHDB_CORE}")))
}

/// The interpreter of a venv with chDB: `$TIERSTORE_TEST_CHDB_PYTHON` if set, else the cached
/// venv, created (about 180 MB from PyPI) if missing or broken.
pub fn ensure() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os(ENV) {
        return Ok(PathBuf::from(p));
    }
    let dir = venv_dir()?;
    let python = dir.join("bin/python");
    if works(&python) {
        return Ok(python);
    }
    eprintln!("xtask: installing chdb-core {CHDB_CORE} into {}", dir.display());
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing a broken {}", dir.display()))?;
    }
    cmd::run(Command::new("python3").args(["-m", "venv"]).arg(&dir))?;
    cmd::run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--no-deps"])
            .arg(format!("chdb-core=={CHDB_CORE}")),
    )?;
    if !works(&python) {
        bail!("chdb-core {CHDB_CORE} installed into {} but `import chdb` does not work", dir.display());
    }
    Ok(python)
}

fn works(python: &std::path::Path) -> bool {
    python.exists()
        && cmd::output(Command::new(python).args(["-c", "import chdb; print(chdb.query('SELECT 1', 'CSV'))"]))
            .is_ok_and(|out| out.trim() == "1")
}
