//! The durable local outbox: the writes a secondary tier has not taken yet, kept on disk in
//! the order they were made, so they reach that tier when it is back — after an outage, or
//! after this process was killed.
//!
//! One directory, one process: `outbox.lock` is held (an exclusive `flock`) for as long as
//! the [`Outbox`] lives, so a second process opening the same directory is refused instead of
//! interleaving its records. `outbox.log` is a header (magic, generation, the number its
//! records continue from) followed by
//! records, each `length (u32 LE) · CRC-32 (u32 LE) · payload`, appended with one `write` and
//! made durable (`fdatasync`) before [`Outbox::push`] returns. `outbox.done` says how many
//! records of which generation were acknowledged; it is replaced atomically (temp file,
//! fsync, rename). When every record is acknowledged the log is replaced by an empty one of
//! the next generation, so it never grows without bound and an old `outbox.done` can never
//! acknowledge a new record.
//!
//! A crash can leave a half-written last record: it was never acknowledged to a caller (the
//! push had not returned), so opening cuts it off. A bad record with whole records after it
//! is not a crash but damage, and is refused naming the file and offset. An unreadable
//! `outbox.done` replays everything from the start, which is safe because every write that
//! goes through the outbox is idempotent — replaying one twice leaves the tier as once.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use tierstore_model::StoreError;

const LOG: &str = "outbox.log";
const DONE: &str = "outbox.done";
const LOCK: &str = "outbox.lock";
const MAGIC: &[u8; 8] = b"TSOUTBX1";
const HEADER: u64 = 24;
/// No record is larger: a length beyond it is damage, not a write.
const MAX_RECORD: u32 = 64 << 20;

/// A pending write: its number in the outbox (increasing, never reused while pending) and the
/// bytes pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// The record's number; acknowledge through it with [`Outbox::ack`].
    pub seq: u64,
    /// What was pushed.
    pub payload: Vec<u8>,
}

/// One process's outbox in one directory. See the module documentation.
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    _lock: File,
    log: File,
    generation: u64,
    /// Records in the log.
    total: u64,
    /// Records acknowledged, and the byte offset of the first one that is not.
    done: u64,
    done_offset: u64,
    /// Where the whole records end.
    end: u64,
    /// Numbers of this generation start after `base`, so they keep growing across compactions.
    base: u64,
}

impl Outbox {
    /// Opens (creating if needed) the outbox in `dir`, taking its lock; cuts off a record a
    /// crash left half-written.
    pub fn open(dir: &Path) -> Result<Outbox, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, "cannot create the outbox directory", &e))?;
        let lock_path = dir.join(LOCK);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io_error(&lock_path, "cannot open", &e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::conflict(
                    "outbox",
                    dir.display(),
                    "another process holds it (one outbox per process: give each process its own directory)",
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_error(&lock_path, "cannot lock", &e)),
        }
        let log_path = dir.join(LOG);
        if !log_path.exists() {
            write_empty_log(dir, 1, 0)?;
        }
        let mut log = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| io_error(&log_path, "cannot open", &e))?;
        let (generation, base) = read_header(&mut log, &log_path)?;
        let scan = scan(&mut log, &log_path)?;
        if scan.end < scan.len {
            tracing::warn!(
                path = %log_path.display(),
                cut = scan.len - scan.end,
                "outbox: cutting off a record a crash left half-written"
            );
            log.set_len(scan.end).map_err(|e| io_error(&log_path, "cannot cut the torn record off", &e))?;
            log.sync_all().map_err(|e| io_error(&log_path, "cannot sync", &e))?;
        }
        let (done, done_offset) = match read_done(dir, generation) {
            Some(done) if done <= scan.offsets.len() as u64 => {
                let at = usize::try_from(done).unwrap_or(usize::MAX);
                (done, scan.offsets.get(at).copied().unwrap_or(scan.end))
            }
            Some(done) => {
                tracing::warn!(
                    done,
                    records = scan.offsets.len(),
                    "outbox: acknowledged more than it holds; replaying all"
                );
                (0, HEADER)
            }
            None => (0, HEADER),
        };
        Ok(Outbox {
            dir: dir.to_owned(),
            _lock: lock,
            log,
            generation,
            total: scan.offsets.len() as u64,
            done,
            done_offset,
            end: scan.end,
            base,
        })
    }

    /// Appends a record and makes it durable; returns its number. When this returns, the
    /// write survives a crash of this process or of the machine.
    pub fn push(&mut self, payload: &[u8]) -> Result<u64, StoreError> {
        let len = u32::try_from(payload.len()).ok().filter(|l| *l <= MAX_RECORD).ok_or_else(|| {
            StoreError::invalid("outbox record", format!("{} bytes", payload.len()), "at most 64 MiB")
        })?;
        let mut frame = Vec::with_capacity(8 + payload.len());
        frame.extend_from_slice(&len.to_le_bytes());
        frame.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        frame.extend_from_slice(payload);
        let path = self.dir.join(LOG);
        let result = self.log.write_all(&frame).and_then(|()| self.log.sync_data());
        if let Err(e) = result {
            // A partial frame may be on disk: cut it off so the next push starts clean.
            let _ = self.log.set_len(self.end);
            return Err(io_error(&path, "cannot append to", &e));
        }
        self.total += 1;
        self.end += frame.len() as u64;
        Ok(self.base + self.total)
    }

    /// The pending records from the oldest, at most `limit` of them.
    pub fn pending(&mut self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        let path = self.dir.join(LOG);
        let mut out = Vec::new();
        let mut at = self.done_offset;
        let mut seq = self.base + self.done;
        while out.len() < limit && seq < self.base + self.total {
            let (payload, next) = read_record(&mut self.log, &path, at)?;
            seq += 1;
            out.push(OutboxEntry { seq, payload });
            at = next;
        }
        Ok(out)
    }

    /// How many records are pending.
    pub fn depth(&self) -> u64 {
        self.total - self.done
    }

    /// Acknowledges every record up to and including `seq` (they reached their tier). When
    /// nothing is left pending the log starts over, empty, as the next generation.
    pub fn ack(&mut self, seq: u64) -> Result<(), StoreError> {
        let through = seq.saturating_sub(self.base).min(self.total);
        if through <= self.done {
            return Ok(());
        }
        if through == self.total {
            // Everything is acknowledged: a fresh, empty log of the next generation (renamed
            // over the old one), so no stale acknowledgement can cover a later record.
            let next = self.generation + 1;
            let base = self.base + self.total;
            write_empty_log(&self.dir, next, base)?;
            let path = self.dir.join(LOG);
            self.log = OpenOptions::new()
                .read(true)
                .append(true)
                .open(&path)
                .map_err(|e| io_error(&path, "cannot open", &e))?;
            (self.generation, self.base, self.total, self.done, self.done_offset, self.end) =
                (next, base, 0, 0, HEADER, HEADER);
            return Ok(());
        }
        let path = self.dir.join(LOG);
        let mut at = self.done_offset;
        for _ in self.done..through {
            at = skip_record(&mut self.log, &path, at)?;
        }
        write_done(&self.dir, self.generation, through)?;
        (self.done, self.done_offset) = (through, at);
        Ok(())
    }
}

/// What a scan of the log found: where each whole record starts, where the whole records
/// end, and the file's length.
struct Scan {
    offsets: Vec<u64>,
    end: u64,
    len: u64,
}

fn read_header(log: &mut File, path: &Path) -> Result<(u64, u64), StoreError> {
    let mut header = [0u8; HEADER as usize];
    log.seek(SeekFrom::Start(0)).map_err(|e| io_error(path, "cannot read", &e))?;
    log.read_exact(&mut header)
        .map_err(|_| StoreError::corrupt(path, None, "not an outbox log: the 24-byte header is missing"))?;
    if &header[..8] != MAGIC {
        return Err(StoreError::corrupt(path, None, "not an outbox log: wrong magic"));
    }
    let word = |i: usize| u64::from_le_bytes(header[i..i + 8].try_into().unwrap_or_default());
    Ok((word(8), word(16)))
}

fn scan(log: &mut File, path: &Path) -> Result<Scan, StoreError> {
    let len = log.metadata().map_err(|e| io_error(path, "cannot read", &e))?.len();
    let mut offsets = Vec::new();
    let mut at = HEADER;
    while at < len {
        if len - at < 8 {
            break; // a torn frame header
        }
        let (size, crc) = frame_header(log, path, at)?;
        let end = at + 8 + u64::from(size);
        if size > MAX_RECORD || end > len {
            if size > MAX_RECORD && end <= len {
                return Err(damaged(path, at, "a record longer than any write"));
            }
            break; // a torn payload
        }
        let mut payload = vec![0u8; size as usize];
        log.read_exact(&mut payload).map_err(|e| io_error(path, "cannot read", &e))?;
        if crc32fast::hash(&payload) != crc {
            if end == len {
                break; // the last record, torn inside its payload
            }
            return Err(damaged(path, at, "a record whose checksum does not match, with records after it"));
        }
        offsets.push(at);
        at = end;
    }
    Ok(Scan { offsets, end: at.min(len), len })
}

fn frame_header(log: &mut File, path: &Path, at: u64) -> Result<(u32, u32), StoreError> {
    let mut head = [0u8; 8];
    log.seek(SeekFrom::Start(at)).map_err(|e| io_error(path, "cannot read", &e))?;
    log.read_exact(&mut head).map_err(|e| io_error(path, "cannot read", &e))?;
    let size = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    Ok((size, crc))
}

fn read_record(log: &mut File, path: &Path, at: u64) -> Result<(Vec<u8>, u64), StoreError> {
    let (size, crc) = frame_header(log, path, at)?;
    let mut payload = vec![0u8; size as usize];
    log.read_exact(&mut payload).map_err(|e| io_error(path, "cannot read", &e))?;
    if crc32fast::hash(&payload) != crc {
        return Err(damaged(path, at, "a record whose checksum does not match"));
    }
    Ok((payload, at + 8 + u64::from(size)))
}

fn skip_record(log: &mut File, path: &Path, at: u64) -> Result<u64, StoreError> {
    let (size, _) = frame_header(log, path, at)?;
    Ok(at + 8 + u64::from(size))
}

fn damaged(path: &Path, at: u64, what: &str) -> StoreError {
    StoreError::corrupt(
        path,
        None,
        format!("{what} at byte {at}; the outbox is damaged, not torn by a crash"),
    )
}

/// Writes an empty log of `generation` whose numbers continue after `base`, atomically.
fn write_empty_log(dir: &Path, generation: u64, base: u64) -> Result<(), StoreError> {
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&generation.to_le_bytes());
    bytes.extend_from_slice(&base.to_le_bytes());
    atomic_write(&dir.join(LOG), &bytes)
}

fn read_done(dir: &Path, generation: u64) -> Option<u64> {
    let path = dir.join(DONE);
    let bytes = std::fs::read(&path).ok()?;
    let parsed =
        (bytes.len() == 20 && crc32fast::hash(&bytes[..16]).to_le_bytes() == bytes[16..20]).then(|| {
            let g = u64::from_le_bytes(bytes[..8].try_into().unwrap_or_default());
            let n = u64::from_le_bytes(bytes[8..16].try_into().unwrap_or_default());
            (g, n)
        });
    match parsed {
        Some((g, n)) if g == generation => Some(n),
        Some(_) => None, // an earlier generation's: nothing of this one is acknowledged
        None => {
            tracing::warn!(path = %path.display(), "outbox: unreadable acknowledgement file; replaying everything");
            None
        }
    }
}

fn write_done(dir: &Path, generation: u64, done: u64) -> Result<(), StoreError> {
    let mut bytes = generation.to_le_bytes().to_vec();
    bytes.extend_from_slice(&done.to_le_bytes());
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    atomic_write(&dir.join(DONE), &bytes)
}

fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension("tmp");
    let result = (|| -> io::Result<()> {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io_error(path, "cannot write", &e)
    })
}

fn io_error(path: &Path, what: &str, e: &io::Error) -> StoreError {
    // The outbox lives beside the legacy files, on the machine's own disk.
    StoreError::unavailable(
        tierstore_model::Tier::Legacy,
        "outbox",
        path.display().to_string(),
        format!("{what}: {e}"),
    )
}
