//! `TradeStore` on each account's `deal_hist.csv`: appends in the journal's own encoding and
//! row terminator under the directory lock; reads stream the bytes each journal held when it
//! was opened, leaving a line the Python program is still writing for the next read.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Take};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use tierstore_model::{
    AccountId, DateRange, Period, Result, StoreError, Trade, TradeDate, TradeId, TradeQuery, TradeStore,
    TradeSummary,
};

use super::{LegacyStore, blocking, failed, spawn_stream};
use crate::format::journal::{self, DEALS, JournalReader, SNIFF, Tail};
use crate::fsio::{self, DirLock};

/// Rows per chunk of a trade stream.
const TRADE_CHUNK: usize = 10_000;

/// How long an append waits for a row another writer is in the middle of (a last line without
/// its terminator) to be finished before it gives up: the Python program's csv writer may
/// write a row in more than one piece.
const UNTERMINATED_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// The journal's layout once its last line is whole — waiting up to [`UNTERMINATED_WAIT`] for
/// a row being written — or as it is then (which the append refuses).
fn settled_layout(path: &Path) -> Result<Option<journal::JournalLayout>> {
    let deadline = std::time::Instant::now() + UNTERMINATED_WAIT;
    loop {
        let layout = match fsio::read_ends(path, SNIFF)? {
            Some(ends) => Some(journal::layout(path, &ends.head, &ends.tail, ends.len)?),
            None => None,
        };
        match layout {
            Some(l) if !l.terminated && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            other => return Ok(other),
        }
    }
}

/// A reader of the journal at `path` as it is now; `Ok(None)` if there is none.
pub(crate) fn open_journal(
    path: &Path,
    account: AccountId,
    tz: chrono_tz::Tz,
    tail: Tail,
) -> Result<Option<JournalReader<BufReader<Take<File>>>>> {
    let Some(source) = fsio::open_snapshot(path, SNIFF)? else { return Ok(None) };
    JournalReader::new(path, source, account, tz, tail).map(Some)
}

/// Calls `each` with every trade of `dirs` (in file order per account), stopping at the first
/// error or when `each` returns `false`.
fn each_trade(
    dirs: &[(AccountId, PathBuf)],
    tz: chrono_tz::Tz,
    mut each: impl FnMut(Trade) -> bool,
) -> Result<()> {
    for (account, dir) in dirs {
        let path = dir.join(DEALS);
        let Some(mut reader) = open_journal(&path, account.clone(), tz, Tail::Leave)? else { continue };
        while let Some((_, row)) = reader.next_row() {
            if !each(row?) {
                return Ok(());
            }
        }
        if let Some(line) = reader.unread_tail() {
            tracing::debug!(path = %path.display(), line, "journal line still being written; left for the next read");
        }
    }
    Ok(())
}

/// The trades of `dirs` matching `query`, in its order and up to its limit.
fn read_trades(dirs: &[(AccountId, PathBuf)], tz: chrono_tz::Tz, query: &TradeQuery) -> Result<Vec<Trade>> {
    let mut out = Vec::new();
    each_trade(dirs, tz, |t| {
        if query.matches(&t, &tz) {
            out.push(t);
        }
        true
    })?;
    query.order_and_limit(&mut out);
    Ok(out)
}

/// What a journal holds now: its length in bytes as read, its number of rows, and its rows
/// at the ordinals in `wanted` (readable or not), to compare a replayed trade with.
fn journal_rows(
    path: &Path,
    account: &AccountId,
    tz: chrono_tz::Tz,
    wanted: &BTreeSet<u64>,
) -> Result<(u64, u64, BTreeMap<u64, Result<Trade>>)> {
    let mut found = BTreeMap::new();
    let Some(source) = fsio::open_snapshot(path, SNIFF)? else {
        return Ok((0, 0, found));
    };
    let len = source.get_ref().limit();
    let mut reader = JournalReader::new(path, source, account.clone(), tz, Tail::Leave)?;
    let mut rows = 0;
    while let Some((_, row)) = reader.next_row() {
        if reader.rows() == rows {
            // Not a data row: the header or the file itself could not be read.
            return Err(row.err().unwrap_or_else(|| StoreError::corrupt(path, None, "unreadable")));
        }
        rows = reader.rows();
        if wanted.contains(&rows) {
            found.insert(rows, row);
        }
    }
    Ok((len, rows, found))
}

/// The rows of a journal before byte `offset` (whole rows only).
fn rows_before(path: &Path, offset: u64, account: &AccountId, tz: chrono_tz::Tz) -> Result<u64> {
    let mut reader =
        JournalReader::new(path, fsio::open_prefix(path, offset, SNIFF)?, account.clone(), tz, Tail::Leave)?;
    while let Some((_, row)) = reader.next_row() {
        if reader.rows() == 0 {
            return Err(row.err().unwrap_or_else(|| StoreError::corrupt(path, None, "unreadable")));
        }
    }
    Ok(reader.rows())
}

/// What identifies a journal's content cheaply: its inode, length and modification time. An
/// append changes the length; a rewrite (an atomic rename) the inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct JournalStamp {
    ino: u64,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

impl JournalStamp {
    fn of(path: &Path) -> Option<JournalStamp> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(JournalStamp { ino: m.ino(), len: m.len(), modified: m.modified().ok() })
    }
}

/// Row counts of journals as last seen, so an append does not read the whole journal to
/// number its rows: while a journal's stamp is unchanged since our last append (or read), its
/// count is too. Anything else — the Python program appended, someone rewrote the file —
/// changes the stamp, and the journal is counted again.
pub(crate) type JournalCounts = std::sync::Mutex<std::collections::HashMap<PathBuf, (JournalStamp, u64)>>;

/// The rows to append, and the identity of each row of the batch by its place in the call.
type AppendPlan = (Vec<Trade>, Vec<(usize, TradeId)>);

/// The rows of one account's batch to append, with every row's identity: a row without an
/// ordinal gets the next one; a row with the next ordinal is appended; a row whose ordinal
/// the journal (or the batch) already holds must be that same row and is not appended again.
fn plan_append(
    path: &Path,
    batch: &[(usize, Trade)],
    rows: u64,
    existing: &BTreeMap<u64, Result<Trade>>,
) -> Result<AppendPlan> {
    let mut append: Vec<Trade> = Vec::new();
    let mut ids = Vec::with_capacity(batch.len());
    for (at, t) in batch {
        let next = rows + append.len() as u64 + 1;
        let seq = t.seq.unwrap_or(next);
        if seq == next {
            append.push(Trade { seq: Some(seq), ..t.clone() });
        } else if seq > next {
            return Err(StoreError::conflict(
                "trade",
                TradeId { account: t.account.clone(), seq },
                format!(
                    "{} holds {} rows, so the next ordinal is {next}; a gap is not allowed",
                    path.display(),
                    next - 1
                ),
            ));
        } else {
            let held = match seq.checked_sub(rows + 1) {
                Some(i) => append.get(usize::try_from(i).unwrap_or(usize::MAX)).cloned().ok_or(()),
                None => match existing.get(&seq) {
                    Some(Ok(row)) => Ok(row.clone()),
                    _ => Err(()),
                },
            };
            // The journal does not record the strategy, so it cannot differ there.
            let same = held.is_ok_and(|h| Trade { strategy: t.strategy.clone(), ..h } == *t);
            if !same {
                return Err(StoreError::conflict(
                    "trade",
                    TradeId { account: t.account.clone(), seq },
                    format!("{} already holds a different row with this ordinal", path.display()),
                ));
            }
        }
        ids.push((*at, TradeId { account: t.account.clone(), seq }));
    }
    Ok((append, ids))
}

#[async_trait]
impl TradeStore for LegacyStore {
    async fn append_trades(&self, trades: &[Trade]) -> Result<Vec<TradeId>> {
        if trades.is_empty() {
            return Ok(Vec::new());
        }
        let mut by_account: BTreeMap<AccountId, Vec<(usize, Trade)>> = BTreeMap::new();
        for (at, t) in trades.iter().enumerate() {
            t.validate()?;
            self.account_dir(&t.account)?;
            by_account.entry(t.account.clone()).or_default().push((at, t.clone()));
        }
        let accounts: Vec<AccountId> = by_account.keys().cloned().collect();
        let dirs = self.dirs_of(&accounts)?;
        let config = self.config.clone();
        let counts = Arc::clone(&self.journal_counts);
        let n = trades.len();
        blocking(move || {
            // Every journal involved is locked, numbered and every append rendered
            // (encodability checked) before the first byte is written.
            let _locks = dirs.iter().map(|(_, d)| DirLock::acquire(d)).collect::<Result<Vec<_>>>()?;
            let mut writes = Vec::new();
            let mut ids: Vec<Option<TradeId>> = vec![None; n];
            for (account, dir) in &dirs {
                let path = dir.join(DEALS);
                let batch = &by_account[account];
                let replayed: BTreeSet<u64> = batch.iter().filter_map(|(_, t)| t.seq).collect();
                let stamp = JournalStamp::of(&path);
                let known = counts.lock().unwrap_or_else(|p| p.into_inner()).get(&path).copied();
                let (len, rows, existing) = match (known, stamp) {
                    (Some((seen, rows)), Some(now)) if seen == now && replayed.is_empty() => {
                        (now.len, rows, BTreeMap::new())
                    }
                    _ => {
                        let counted = journal_rows(&path, account, config.timezone, &replayed)?;
                        if let Some(now) = stamp.filter(|s| s.len == counted.0) {
                            counts.lock().unwrap_or_else(|p| p.into_inner()).insert(path.clone(), (now, counted.1));
                        }
                        counted
                    }
                };
                let (append, assigned) = plan_append(&path, batch, rows, &existing)?;
                let appended_at: Vec<usize> =
                    assigned.iter().filter(|(_, id)| id.seq > rows).map(|(at, _)| *at).collect();
                let given = batch.iter().any(|(_, t)| t.seq.is_some_and(|s| s > rows));
                for (at, id) in assigned {
                    ids[at] = Some(id);
                }
                if append.is_empty() {
                    continue;
                }
                let layout = settled_layout(&path)?;
                let bytes = journal::render_append(
                    &path,
                    &append,
                    layout,
                    config.platform.journal_encoding(),
                    config.platform.text_eol(),
                    &config.timezone,
                )?;
                writes.push((account, path, layout.is_some(), bytes, len, rows, appended_at, given));
            }
            for (account, path, exists, bytes, len, rows, appended_at, given) in writes {
                // Forgotten until the write is known to have gone where it was counted to.
                counts.lock().unwrap_or_else(|p| p.into_inner()).remove(&path);
                let remember = |end: u64| {
                    // Only if nobody appended after us before the stamp was taken.
                    if let Some(now) = JournalStamp::of(&path).filter(|s| s.len == end) {
                        let rows = rows + appended_at.len() as u64;
                        counts.lock().unwrap_or_else(|p| p.into_inner()).insert(path.clone(), (now, rows));
                    }
                };
                if !exists {
                    fsio::atomic_write(&path, &bytes)?;
                    remember(bytes.len() as u64);
                    continue;
                }
                let offset = fsio::append(&path, &bytes)?;
                if offset == len {
                    remember(len + bytes.len() as u64);
                    continue;
                }
                // The Python program appended between our count and our write (it does not
                // take our lock): our rows follow its rows, so their ordinals do too.
                let before = rows_before(&path, offset, account, config.timezone)?;
                for (k, at) in appended_at.iter().enumerate() {
                    ids[*at] = Some(TradeId { account: account.clone(), seq: before + k as u64 + 1 });
                }
                if given && before != rows {
                    return Err(StoreError::conflict(
                        "trade",
                        TradeId { account: account.clone(), seq: rows + 1 },
                        format!(
                            "{} grew while appending: the rows were written as #{}..#{}, not as the ordinals given",
                            path.display(),
                            before + 1,
                            before + appended_at.len() as u64
                        ),
                    ));
                }
            }
            Ok(ids.into_iter().flatten().collect())
        })
        .await
    }

    async fn trades(&self, query: &TradeQuery) -> Result<Vec<Trade>> {
        let dirs = self.dirs_of(&query.accounts)?;
        let tz = self.config.timezone;
        let query = query.clone();
        blocking(move || read_trades(&dirs, tz, &query)).await
    }

    fn stream_trades<'a>(&'a self, query: &'a TradeQuery) -> BoxStream<'a, Result<Vec<Trade>>> {
        if let Err(e) = query.check_streamable() {
            return failed(e);
        }
        let dirs = match self.dirs_of(&query.accounts) {
            Ok(d) => d,
            Err(e) => return failed(e),
        };
        let tz = self.config.timezone;
        let query = query.clone();
        spawn_stream(move |tx| {
            let mut chunk = Vec::with_capacity(TRADE_CHUNK);
            let mut open = true;
            let read = each_trade(&dirs, tz, |t| {
                if query.matches(&t, &tz) {
                    chunk.push(t);
                }
                if chunk.len() == TRADE_CHUNK {
                    open = tx.blocking_send(Ok(std::mem::take(&mut chunk))).is_ok();
                }
                open
            });
            let last = match read {
                Err(e) => Err(e),
                Ok(()) if chunk.is_empty() || !open => return,
                Ok(()) => Ok(chunk),
            };
            let _ = tx.blocking_send(last);
        })
    }

    async fn summarise_trades(&self, query: &TradeQuery, period: Period) -> Result<Vec<TradeSummary>> {
        let dirs = self.dirs_of(&query.accounts)?;
        let tz = self.config.timezone;
        // The cost basis needs every earlier fill of the chosen accounts and codes.
        let basis = TradeQuery {
            accounts: query.accounts.clone(),
            codes: query.codes.clone(),
            strategy: query.strategy.clone(),
            dates: query.dates.map(|r| DateRange { start: TradeDate::MIN, end: r.end }),
            kinds: Vec::new(),
            newest_first: false,
            limit: None,
        };
        let counted = TradeQuery { newest_first: false, limit: None, ..query.clone() };
        blocking(move || {
            let trades = read_trades(&dirs, tz, &basis)?;
            Ok(tierstore_model::trade::summarise(&trades, period, &tz, &counted))
        })
        .await
    }
}
