//! File operations that keep legacy files whole: atomic rewrites, whole-line appends, and
//! the advisory lock our writers share.
//!
//! The Python program rewrites its JSON files in place (`open(path, 'w')`), so a reader can
//! catch one half-written; we never do that. A rewrite goes to a temporary file in the same
//! directory, is fsynced, then renamed over the original, so every reader — ours or the
//! Python program's — sees the old file or the new one. Our own writers in any thread or
//! process take an exclusive `flock` on `<dir>/.tierstore.lock` around read-modify-write.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tierstore_model::{StoreError, Tier};

/// The lock file every tierstore writer of a directory takes. The Python program ignores it.
pub const LOCK_FILE: &str = ".tierstore.lock";

/// An exclusive advisory lock on a directory, released on drop.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Blocks until the lock on `dir` is ours. Each call opens its own file description, so
    /// threads of one process exclude each other as processes do.
    pub fn acquire(dir: &Path) -> Result<DirLock, StoreError> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| io_error(&path, "cannot open the lock file", &e))?;
        file.lock().map_err(|e| io_error(&path, "cannot lock", &e))?;
        Ok(DirLock { _file: file })
    }
}

/// Replaces `path` with `bytes` atomically: temp file in the same directory, fsync, rename,
/// fsync of the directory. On any error the original is untouched and the temp file removed.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tierstore-{}-{:x}.tmp", std::process::id(), rand::random::<u32>()));
    let result = (|| -> io::Result<()> {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        if let Ok(meta) = std::fs::metadata(path) {
            // Keep the original's permissions (a read-only bit would otherwise appear or vanish).
            let _ = f.set_permissions(meta.permissions());
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_error(path, "cannot rewrite", &e)
    })
}

/// Appends `bytes` (whole lines) with one `write` on a file opened for append, then fsyncs;
/// returns the offset the bytes were written at (past anything another process appended
/// since the caller last looked).
pub fn append(path: &Path, bytes: &[u8]) -> Result<u64, StoreError> {
    let result = (|| -> io::Result<u64> {
        use std::io::Seek;
        let mut f = OpenOptions::new().append(true).open(path)?;
        f.write_all(bytes)?;
        // With O_APPEND the write went to the end as it was then, whoever else appended before.
        let end = f.stream_position()?;
        f.sync_data()?;
        Ok(end - bytes.len() as u64)
    })();
    result.map_err(|e| io_error(path, "cannot append to", &e))
}

/// The first `len` bytes of a file, for reading what lies before an offset.
pub fn open_prefix(
    path: &Path,
    len: u64,
    buffer: usize,
) -> Result<io::BufReader<io::Take<File>>, StoreError> {
    let file = File::open(path).map_err(|e| io_error(path, "cannot read", &e))?;
    Ok(io::BufReader::with_capacity(buffer, file.take(len)))
}

/// Reads a file; `Ok(None)` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path, "cannot read", &e)),
    }
}

/// Reads and parses a file the Python program may be rewriting in place right now: a parse
/// failure is retried four times over ~30 ms before it is reported, since a torn read of a
/// small file being rewritten heals within microseconds while real corruption does not.
pub fn read_parsed<T>(
    path: &Path,
    parse: impl Fn(&[u8]) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut attempt = 0;
    loop {
        let Some(bytes) = read_optional(path)? else { return Ok(None) };
        match parse(&bytes) {
            Ok(v) => return Ok(Some(v)),
            Err(e) if attempt >= 4 => return Err(e),
            Err(_) => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(1 << attempt));
            }
        }
    }
}

/// A reader of exactly the bytes `path` holds now — not of what is appended after — with a
/// buffer of `buffer` bytes; `Ok(None)` when the file does not exist. A journal the Python
/// program is appending to is read up to the length measured here, so the last line read is
/// complete or visibly unterminated, never a prefix of a longer row taken for a whole one.
pub fn open_snapshot(
    path: &Path,
    buffer: usize,
) -> Result<Option<io::BufReader<io::Take<File>>>, StoreError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path, "cannot read", &e)),
    };
    let len = file.metadata().map_err(|e| io_error(path, "cannot read", &e))?.len();
    Ok(Some(io::BufReader::with_capacity(buffer, file.take(len))))
}

/// The two ends of a file, read without the middle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ends {
    /// The first bytes.
    pub head: Vec<u8>,
    /// The last bytes (overlapping `head` in a small file).
    pub tail: Vec<u8>,
    /// The file's length.
    pub len: u64,
}

/// The first and last up to `n` bytes of a file and its length; `Ok(None)` when it does not
/// exist.
pub fn read_ends(path: &Path, n: usize) -> Result<Option<Ends>, StoreError> {
    use std::io::{Seek, SeekFrom};
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path, "cannot read", &e)),
    };
    let io = |e: io::Error| io_error(path, "cannot read", &e);
    let len = f.metadata().map_err(io)?.len();
    let mut head = Vec::with_capacity(n.min(len as usize));
    Read::by_ref(&mut f).take(n as u64).read_to_end(&mut head).map_err(io)?;
    let tail_len = len.min(n as u64);
    f.seek(SeekFrom::Start(len - tail_len)).map_err(io)?;
    let mut tail = Vec::with_capacity(tail_len as usize);
    f.take(tail_len).read_to_end(&mut tail).map_err(io)?;
    Ok(Some(Ends { head, tail, len }))
}

/// An I/O failure on a legacy file: the tier is unavailable for this operation.
pub fn io_error(path: &Path, what: &str, e: &io::Error) -> StoreError {
    StoreError::unavailable(
        Tier::Legacy,
        "files",
        path.display().to_string(),
        format!("{what} the file: {e}"),
    )
}

/// Lists the regular files of a directory, sorted by name.
pub fn list_files(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_error(dir, "cannot list", &e))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, "cannot list", &e))?;
        if entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("held_days.json");
        std::fs::write(&p, b"old").unwrap();
        atomic_write(&p, b"new").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("held_days.json")]);
    }

    #[test]
    fn failed_atomic_write_leaves_the_original() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing-dir").join("f.json");
        assert!(atomic_write(&p, b"x").is_err());
        assert!(!p.exists());
    }

    #[test]
    fn read_parsed_retries_then_reports() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"bad").unwrap();
        let calls = std::cell::Cell::new(0);
        let r: Result<Option<()>, _> = read_parsed(&p, |_| {
            calls.set(calls.get() + 1);
            Err(StoreError::corrupt(&p, Some(1), "bad"))
        });
        assert!(r.is_err());
        assert_eq!(calls.get(), 5);
        assert!(read_parsed(&dir.path().join("none"), |_| Ok(())).unwrap().is_none());
    }
}
