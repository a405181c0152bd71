//! `TradeStore` on each account's `deal_hist.csv`: appends in the journal's own encoding and
//! row terminator under the directory lock; reads stream the bytes each journal held when it
//! was opened, leaving a line the Python program is still writing for the next read.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Take};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use futures::stream::BoxStream;
use tierstore_model::{
    AccountId, DateRange, Period, Result, Trade, TradeDate, TradeQuery, TradeStore, TradeSummary,
};

use super::{LegacyStore, blocking, failed, spawn_stream};
use crate::format::journal::{self, DEALS, JournalReader, SNIFF, Tail};
use crate::fsio::{self, DirLock};

/// Rows per chunk of a trade stream.
const TRADE_CHUNK: usize = 10_000;

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

/// The trades of `dirs` matching `keep`, in time order.
fn read_trades(
    dirs: &[(AccountId, PathBuf)],
    tz: chrono_tz::Tz,
    keep: impl Fn(&Trade) -> bool,
) -> Result<Vec<Trade>> {
    let mut out = Vec::new();
    each_trade(dirs, tz, |t| {
        if keep(&t) {
            out.push(t);
        }
        true
    })?;
    out.sort_by_key(|t| t.time);
    Ok(out)
}

#[async_trait]
impl TradeStore for LegacyStore {
    async fn append_trades(&self, trades: &[Trade]) -> Result<u64> {
        let mut by_account: BTreeMap<AccountId, Vec<Trade>> = BTreeMap::new();
        for t in trades {
            t.validate()?;
            self.account_dir(&t.account)?;
            by_account.entry(t.account.clone()).or_default().push(t.clone());
        }
        let accounts: Vec<AccountId> = by_account.keys().cloned().collect();
        let dirs = self.dirs_of(&accounts)?;
        let config = self.config.clone();
        let n = trades.len() as u64;
        blocking(move || {
            // Every journal involved is locked and every append rendered (encodability
            // checked) before the first byte is written.
            let _locks = dirs.iter().map(|(_, d)| DirLock::acquire(d)).collect::<Result<Vec<_>>>()?;
            let mut writes = Vec::new();
            for (account, dir) in &dirs {
                let path = dir.join(DEALS);
                let layout = match fsio::read_ends(&path, SNIFF)? {
                    Some(ends) => Some(journal::layout(&path, &ends.head, &ends.tail, ends.len)?),
                    None => None,
                };
                let bytes = journal::render_append(
                    &path,
                    &by_account[account],
                    layout,
                    config.platform.journal_encoding(),
                    config.platform.text_eol(),
                    &config.timezone,
                )?;
                writes.push((path, layout.is_some(), bytes));
            }
            for (path, exists, bytes) in writes {
                if exists { fsio::append(&path, &bytes)? } else { fsio::atomic_write(&path, &bytes)? }
            }
            Ok(n)
        })
        .await
    }

    async fn trades(&self, query: &TradeQuery) -> Result<Vec<Trade>> {
        let dirs = self.dirs_of(&query.accounts)?;
        let tz = self.config.timezone;
        let query = query.clone();
        blocking(move || read_trades(&dirs, tz, |t| query.matches(t, &tz))).await
    }

    fn stream_trades<'a>(&'a self, query: &'a TradeQuery) -> BoxStream<'a, Result<Vec<Trade>>> {
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
        };
        let counted = query.clone();
        blocking(move || {
            let trades = read_trades(&dirs, tz, |t| basis.matches(t, &tz))?;
            Ok(tierstore_model::trade::summarise(&trades, period, &tz, &counted))
        })
        .await
    }
}
