//! The durable local outbox: the writes a secondary tier has not taken yet, kept on disk in
//! the order they were made, so they reach that tier when it is back — after an outage, or
//! after this process was killed.
//!
//! One directory, one process: `outbox.lock` is held (an exclusive `flock`) for as long as
//! the [`Outbox`] lives, so a second process opening the same directory is refused instead of
//! interleaving its records. `outbox.log` is a header (magic, generation, the number its
//! records continue from) followed by records, each `length (u32 LE) · CRC-32 of the length ·
//! CRC-32 of the payload · payload`, appended with one `write` and made durable
//! (`fdatasync`) before [`Outbox::push`] returns: the record survives this process being
//! killed, and a machine crash as far as the disk honours fsync. `outbox.done` says how many
//! records of which generation were acknowledged; it is replaced atomically (temp file,
//! fsync, rename). When every record is acknowledged the log is replaced by an empty one of
//! the next generation, so it never grows without bound and an old `outbox.done` can never
//! acknowledge a new record.
//!
//! A crash can leave the last record cut short, or the file extended with zeros where it was
//! not yet written: that record was never acknowledged to a caller (its push had not
//! returned), so opening cuts it off. Anything else that does not check out — a bad record
//! with bytes after it, a length whose own checksum fails, an `outbox.done` that cannot be
//! read or acknowledges more than the log holds — is damage and refused, naming the file:
//! replaying from the start instead would not be safe, because a *sequence* of writes is not
//! idempotent (see [`crate::tier_write`]). After an I/O error the outbox refuses every call
//! until it is opened again, so what it holds in memory never drifts from the disk.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use tierstore_model::StoreError;

const LOG: &str = "outbox.log";
const DONE: &str = "outbox.done";
const LOCK: &str = "outbox.lock";
const MAGIC: &[u8; 8] = b"TSOUTBX1";
const HEADER: u64 = 24;
/// A record's frame before its payload: length, the length's CRC, the payload's CRC.
const FRAME: u64 = 12;
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
    lock: File,
    /// Released by [`Outbox::close`]: every later call is refused.
    closed: bool,
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
    /// Set by an I/O error: memory and disk may disagree until the outbox is reopened.
    poisoned: bool,
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
            // A fresh log: an acknowledgement file left from an earlier one must not count
            // against its records.
            match std::fs::remove_file(dir.join(DONE)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&dir.join(DONE), "cannot remove", &e)),
            }
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
        let done = read_done(dir, generation)?;
        if done > scan.offsets.len() as u64 {
            return Err(StoreError::corrupt(
                dir.join(DONE),
                None,
                format!("acknowledges {done} records but {} holds {}", LOG, scan.offsets.len()),
            ));
        }
        let done_offset =
            usize::try_from(done).ok().and_then(|i| scan.offsets.get(i).copied()).unwrap_or(scan.end);
        Ok(Outbox {
            dir: dir.to_owned(),
            lock,
            closed: false,
            log,
            generation,
            total: scan.offsets.len() as u64,
            done,
            done_offset,
            end: scan.end,
            base,
            poisoned: false,
        })
    }

    /// Appends a record (not empty, at most 64 MiB) and makes it durable; returns its number.
    pub fn push(&mut self, payload: &[u8]) -> Result<u64, StoreError> {
        self.usable()?;
        let len =
            u32::try_from(payload.len()).ok().filter(|l| (1..=MAX_RECORD).contains(l)).ok_or_else(|| {
                StoreError::invalid("outbox record", format!("{} bytes", payload.len()), "1 byte to 64 MiB")
            })?;
        let mut frame = Vec::with_capacity(FRAME as usize + payload.len());
        frame.extend_from_slice(&len.to_le_bytes());
        frame.extend_from_slice(&crc32fast::hash(&len.to_le_bytes()).to_le_bytes());
        frame.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        frame.extend_from_slice(payload);
        let path = self.dir.join(LOG);
        let result = self.log.write_all(&frame).and_then(|()| self.log.sync_data());
        if let Err(e) = result {
            // A partial frame may be on disk: cut it off so the next push starts clean; if
            // even that fails, refuse everything until reopened (which cuts it off).
            if self.log.set_len(self.end).and_then(|()| self.log.sync_data()).is_err() {
                self.poisoned = true;
            }
            return Err(io_error(&path, "cannot append to", &e));
        }
        self.total += 1;
        self.end += frame.len() as u64;
        Ok(self.base + self.total)
    }

    /// The pending records from the oldest, at most `limit` of them.
    pub fn pending(&mut self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.usable()?;
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

    /// The number of the last acknowledged record (0 before the first).
    pub fn acknowledged(&self) -> u64 {
        self.base + self.done
    }

    /// The number of the last record pushed (0 before the first).
    pub fn last(&self) -> u64 {
        self.base + self.total
    }

    /// How many records are pending.
    pub fn depth(&self) -> u64 {
        self.total - self.done
    }

    /// Acknowledges every record up to and including `seq` (they reached their tier). When
    /// nothing is left pending the log starts over, empty, as the next generation.
    pub fn ack(&mut self, seq: u64) -> Result<(), StoreError> {
        self.usable()?;
        if seq > self.base + self.total {
            return Err(StoreError::invalid(
                "outbox ack",
                seq.to_string(),
                format!("the outbox holds records up to {}", self.base + self.total),
            ));
        }
        let through = seq.saturating_sub(self.base);
        if through <= self.done {
            return Ok(());
        }
        let result = self.acknowledge(through);
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    fn acknowledge(&mut self, through: u64) -> Result<(), StoreError> {
        let path = self.dir.join(LOG);
        if through == self.total {
            // Everything is acknowledged: a fresh, empty log of the next generation (renamed
            // over the old one), so no stale acknowledgement can cover a later record.
            let next = self.generation + 1;
            let base = self.base + self.total;
            write_empty_log(&self.dir, next, base)?;
            self.log = OpenOptions::new()
                .read(true)
                .append(true)
                .open(&path)
                .map_err(|e| io_error(&path, "cannot open", &e))?;
            (self.generation, self.base, self.total, self.done, self.done_offset, self.end) =
                (next, base, 0, 0, HEADER, HEADER);
            return Ok(());
        }
        let mut at = self.done_offset;
        for _ in self.done..through {
            at = skip_record(&mut self.log, &path, at)?;
        }
        write_done(&self.dir, self.generation, through)?;
        (self.done, self.done_offset) = (through, at);
        Ok(())
    }

    /// Releases the directory's lock now, for another opener, instead of when the outbox is
    /// dropped; every later call is refused.
    pub fn close(&mut self) {
        if !self.closed {
            self.closed = true;
            if let Err(e) = self.lock.unlock() {
                tracing::warn!(dir = %self.dir.display(), error = %e, "cannot release the outbox lock");
            }
        }
    }

    fn usable(&self) -> Result<(), StoreError> {
        if self.closed {
            return Err(StoreError::unavailable(
                tierstore_model::Tier::Legacy,
                "outbox",
                self.dir.display().to_string(),
                "closed",
            ));
        }
        if self.poisoned {
            return Err(StoreError::unavailable(
                tierstore_model::Tier::Legacy,
                "outbox",
                self.dir.display().to_string(),
                "an earlier I/O error left it unusable until it is opened again",
            ));
        }
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

/// How many records the outbox in `dir` holds pending, read without its lock (the process
/// that owns it may be running) and without changing anything: `None` when `dir` holds no
/// outbox. A record being appended at this moment may or may not be counted.
pub fn pending_in(dir: &Path) -> Result<Option<u64>, StoreError> {
    let log_path = dir.join(LOG);
    let mut log = match File::open(&log_path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(&log_path, "cannot open", &e)),
    };
    let (generation, _) = read_header(&mut log, &log_path)?;
    let scan = scan(&mut log, &log_path)?;
    let done = read_done(dir, generation)?;
    Ok(Some((scan.offsets.len() as u64).saturating_sub(done)))
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
        // What a crash leaves: a frame cut short, or zeros where the write had not landed
        // (looked for only when a frame does not check out, so a scan reads the log once).
        if len - at < FRAME {
            break;
        }
        let Some((size, payload_crc)) = frame_header(log, path, at)? else {
            if only_zeros(log, path, at)? {
                break;
            }
            return Err(damaged(path, at, "a record whose length fails its checksum"));
        };
        let end = at + FRAME + u64::from(size);
        if end > len {
            break; // the payload was cut short
        }
        let mut payload = vec![0u8; size as usize];
        log.read_exact(&mut payload).map_err(|e| io_error(path, "cannot read", &e))?;
        if crc32fast::hash(&payload) != payload_crc {
            if end == len || only_zeros(log, path, at + FRAME)? {
                break; // the last record, torn inside its payload
            }
            return Err(damaged(path, at, "a record whose checksum does not match, with records after it"));
        }
        offsets.push(at);
        at = end;
    }
    Ok(Scan { offsets, end: at.min(len), len })
}

/// Whether everything from `at` to the end of the file is zero bytes.
fn only_zeros(log: &mut File, path: &Path, at: u64) -> Result<bool, StoreError> {
    let mut rest = Vec::new();
    log.seek(SeekFrom::Start(at)).map_err(|e| io_error(path, "cannot read", &e))?;
    log.read_to_end(&mut rest).map_err(|e| io_error(path, "cannot read", &e))?;
    Ok(rest.iter().all(|b| *b == 0))
}

/// A frame's payload length and payload CRC; `None` when the length fails its own checksum.
fn frame_header(log: &mut File, path: &Path, at: u64) -> Result<Option<(u32, u32)>, StoreError> {
    let mut head = [0u8; FRAME as usize];
    log.seek(SeekFrom::Start(at)).map_err(|e| io_error(path, "cannot read", &e))?;
    log.read_exact(&mut head).map_err(|e| io_error(path, "cannot read", &e))?;
    let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let size = word(0);
    if crc32fast::hash(&head[..4]) != word(4) || size == 0 || size > MAX_RECORD {
        return Ok(None);
    }
    Ok(Some((size, word(8))))
}

fn read_record(log: &mut File, path: &Path, at: u64) -> Result<(Vec<u8>, u64), StoreError> {
    let (size, crc) = frame_header(log, path, at)?
        .ok_or_else(|| damaged(path, at, "a record whose length fails its checksum"))?;
    let mut payload = vec![0u8; size as usize];
    log.read_exact(&mut payload).map_err(|e| io_error(path, "cannot read", &e))?;
    if crc32fast::hash(&payload) != crc {
        return Err(damaged(path, at, "a record whose checksum does not match"));
    }
    Ok((payload, at + FRAME + u64::from(size)))
}

fn skip_record(log: &mut File, path: &Path, at: u64) -> Result<u64, StoreError> {
    let (size, _) = frame_header(log, path, at)?
        .ok_or_else(|| damaged(path, at, "a record whose length fails its checksum"))?;
    Ok(at + FRAME + u64::from(size))
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

/// The records of `generation` acknowledged: 0 without a file or for an earlier generation's;
/// a file that cannot be read as one is damage.
fn read_done(dir: &Path, generation: u64) -> Result<u64, StoreError> {
    let path = dir.join(DONE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io_error(&path, "cannot read", &e)),
    };
    if bytes.len() != 20 || crc32fast::hash(&bytes[..16]).to_le_bytes() != bytes[16..20] {
        return Err(StoreError::corrupt(
            &path,
            None,
            "not an outbox acknowledgement (20 bytes with a checksum)",
        ));
    }
    let g = u64::from_le_bytes(bytes[..8].try_into().unwrap_or_default());
    let n = u64::from_le_bytes(bytes[8..16].try_into().unwrap_or_default());
    // An earlier generation's file acknowledges nothing of this one.
    Ok(if g == generation { n } else { 0 })
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
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!("{name}.tmp"));
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
