//! `LegacyStore`: the store traits on the legacy layout.
//!
//! File work is blocking, so every call runs on tokio's blocking pool; streams run on a
//! thread of their own that hands batches over a bounded channel (constant memory, and the
//! thread stops when the consumer drops the stream). Writers take the directory lock; readers
//! do not need it, because our rewrites are atomic renames.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use futures::stream::BoxStream;
use tierstore_model::{
    AccountId, AccountPositions, AssetPoint, AssetStore, DateRange, Endpoint, HealthProbe, HeldDays,
    IncrementOutcome, Kline, KlineBatch, KlineRange, KlineStore, Period, Position, PositionStore, Price,
    ProbeReport, Result, StockCode, StoreError, Tier, Trade, TradeDate, TradeQuery, TradeStore, TradeSummary,
};

use crate::assets::{ASSETS, AssetFile};
use crate::config::LegacyConfig;
use crate::fsio::{self, DirLock};
use crate::journal::{self, DEALS, JournalReader};
use crate::klines::{self, KlineLayout};
use crate::positions::PositionFiles;

/// Rows per chunk of a trade stream.
const TRADE_CHUNK: usize = 10_000;
/// Batches a stream may run ahead of its consumer.
const STREAM_DEPTH: usize = 4;

/// The legacy file layout of one deployment.
#[derive(Debug, Clone)]
pub struct LegacyStore {
    config: Arc<LegacyConfig>,
}

/// What the probe reports as the "server version" of plain files.
pub const LAYOUT_VERSION: &str = "silverquant file layout";

impl LegacyStore {
    /// Opens the layout: every configured directory must exist and be a readable directory.
    pub async fn open(config: LegacyConfig) -> Result<Self> {
        let store = LegacyStore { config: Arc::new(config) };
        store.check_directories().await?;
        Ok(store)
    }

    /// The configuration in use.
    pub fn config(&self) -> &LegacyConfig {
        &self.config
    }

    /// Today's market date in the configured timezone (never the host's).
    pub fn market_today(&self) -> Result<TradeDate> {
        TradeDate::of_instant(chrono::Utc::now(), &self.config.timezone)
    }

    async fn check_directories(&self) -> Result<()> {
        for dir in self.config.directories() {
            let unavailable = |cause: String| {
                StoreError::unavailable(Tier::Legacy, "files", dir.display().to_string(), cause)
            };
            let meta = tokio::fs::metadata(&dir).await.map_err(|e| unavailable(e.to_string()))?;
            if !meta.is_dir() {
                return Err(unavailable("not a directory".into()));
            }
            let _listing =
                tokio::fs::read_dir(&dir).await.map_err(|e| unavailable(format!("cannot list: {e}")))?;
        }
        Ok(())
    }

    fn account_dir(&self, account: &AccountId) -> Result<PathBuf> {
        self.config
            .accounts
            .get(account)
            .cloned()
            .ok_or_else(|| StoreError::not_found("account (no legacy directory configured)", account))
    }

    fn daily_dir(&self) -> Result<PathBuf> {
        self.config.daily_dir.clone().ok_or_else(|| {
            StoreError::unavailable(
                Tier::Legacy,
                "files",
                "(none)",
                "no kline folder configured (legacy.daily_dir)",
            )
        })
    }

    async fn positions<T: Send + 'static>(
        &self,
        account: &AccountId,
        write: bool,
        f: impl FnOnce(&mut PositionFiles) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let dir = self.account_dir(account)?;
        let config = self.config.clone();
        blocking(move || {
            let _lock = if write { Some(DirLock::acquire(&dir)?) } else { None };
            let mut files = PositionFiles::load(&dir, &config)?;
            let out = f(&mut files)?;
            if write {
                files.save()?;
            }
            Ok(out)
        })
        .await
    }

    /// Account directories a query covers, each once, sorted (also the lock order).
    fn dirs_of(&self, accounts: &[AccountId]) -> Result<Vec<(AccountId, PathBuf)>> {
        if accounts.is_empty() {
            return Ok(self.config.accounts.iter().map(|(a, d)| (a.clone(), d.clone())).collect());
        }
        let unique: BTreeSet<&AccountId> = accounts.iter().collect();
        unique.into_iter().map(|a| Ok((a.clone(), self.account_dir(a)?))).collect()
    }
}

/// Runs blocking file work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        StoreError::unavailable(Tier::Legacy, "files", "(worker)", format!("file task failed: {e}"))
    })?
}

/// Runs `produce` on a thread of its own, feeding a bounded stream.
fn spawn_stream<T: Send + 'static>(
    produce: impl FnOnce(&tokio::sync::mpsc::Sender<Result<T>>) + Send + 'static,
) -> BoxStream<'static, Result<T>> {
    let (tx, rx) = tokio::sync::mpsc::channel(STREAM_DEPTH);
    std::thread::spawn(move || produce(&tx));
    Box::pin(futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) }))
}

#[async_trait]
impl HealthProbe for LegacyStore {
    fn endpoint(&self) -> Endpoint {
        self.config.endpoint()
    }

    async fn probe(&self) -> Result<ProbeReport> {
        let start = Instant::now();
        self.check_directories().await?;
        Ok(ProbeReport { version: LAYOUT_VERSION.into(), round_trip: start.elapsed() })
    }
}

#[async_trait]
impl PositionStore for LegacyStore {
    async fn position(&self, account: &AccountId, code: &StockCode) -> Result<Option<Position>> {
        let code = *code;
        let p = self.positions(account, false, move |f| f.position(&code)).await?;
        Ok((p != Position::default()).then_some(p))
    }

    async fn account_positions(&self, account: &AccountId) -> Result<AccountPositions> {
        self.positions(account, false, |f| f.snapshot()).await
    }

    async fn accounts(&self) -> Result<Vec<AccountId>> {
        Ok(self.config.accounts.keys().cloned().collect())
    }

    async fn open_positions(&self, account: &AccountId, codes: &[StockCode]) -> Result<u32> {
        let codes = codes.to_vec();
        self.positions(account, true, move |f| f.open(&codes)).await
    }

    async fn set_held_days(&self, account: &AccountId, code: &StockCode, days: HeldDays) -> Result<()> {
        let code = *code;
        self.positions(account, true, move |f| f.set_held_days(&code, days)).await
    }

    async fn close_position(&self, account: &AccountId, code: &StockCode) -> Result<()> {
        let code = *code;
        self.positions(account, true, move |f| {
            if f.position(&code)?.held_days.is_some() {
                f.set_held_days(&code, HeldDays::Closed)?;
            }
            Ok(())
        })
        .await
    }

    async fn remove_position(&self, account: &AccountId, code: &StockCode) -> Result<()> {
        let code = *code;
        self.positions(account, true, move |f| {
            f.remove(&code);
            Ok(())
        })
        .await
    }

    async fn raise_max_price(&self, account: &AccountId, code: &StockCode, price: Price) -> Result<Price> {
        let code = *code;
        self.positions(account, true, move |f| f.raise_max(&code, price)).await
    }

    async fn lower_min_price(&self, account: &AccountId, code: &StockCode, price: Price) -> Result<Price> {
        let code = *code;
        self.positions(account, true, move |f| f.lower_min(&code, price)).await
    }

    async fn increment_held_days(&self, account: &AccountId, today: TradeDate) -> Result<IncrementOutcome> {
        self.positions(account, true, move |f| f.increment(today)).await
    }

    async fn replace_account(&self, account: &AccountId, state: &AccountPositions) -> Result<()> {
        let state = state.clone();
        self.positions(account, true, move |f| f.replace(&state)).await
    }
}

/// Reads the trades of `dirs` matching `keep`, in time order.
fn read_trades(
    dirs: &[(AccountId, PathBuf)],
    tz: chrono_tz::Tz,
    keep: impl Fn(&Trade) -> bool,
) -> Result<Vec<Trade>> {
    let mut out = Vec::new();
    for (account, dir) in dirs {
        let Some(mut reader) = JournalReader::open(&dir.join(DEALS), account.clone(), tz)? else { continue };
        while let Some((_, row)) = reader.next_row() {
            let t = row?;
            if keep(&t) {
                out.push(t);
            }
        }
    }
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
                let layout = journal::layout(&path)?;
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
            Err(e) => return Box::pin(futures::stream::once(async move { Err(e) })),
        };
        let tz = self.config.timezone;
        let query = query.clone();
        spawn_stream(move |tx| {
            let mut chunk = Vec::with_capacity(TRADE_CHUNK);
            for (account, dir) in &dirs {
                let mut reader = match JournalReader::open(&dir.join(DEALS), account.clone(), tz) {
                    Ok(Some(r)) => r,
                    Ok(None) => continue,
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                };
                while let Some((_, row)) = reader.next_row() {
                    match row {
                        Ok(t) if query.matches(&t, &tz) => chunk.push(t),
                        Ok(_) => {}
                        Err(e) => {
                            let _ = tx.blocking_send(Err(e));
                            return;
                        }
                    }
                    if chunk.len() == TRADE_CHUNK && tx.blocking_send(Ok(std::mem::take(&mut chunk))).is_err()
                    {
                        return;
                    }
                }
            }
            if !chunk.is_empty() {
                let _ = tx.blocking_send(Ok(chunk));
            }
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

fn load_assets(dir: &Path, account: &AccountId, config: &LegacyConfig) -> Result<AssetFile> {
    let path = dir.join(ASSETS);
    Ok(fsio::read_parsed(&path, |b| AssetFile::parse(&path, b, account))?
        .unwrap_or_else(|| AssetFile::empty(config.platform.text_eol())))
}

#[async_trait]
impl AssetStore for LegacyStore {
    async fn record_assets(&self, points: &[AssetPoint]) -> Result<u64> {
        let mut by_account: BTreeMap<AccountId, Vec<AssetPoint>> = BTreeMap::new();
        for p in points {
            tierstore_model::quantity::non_negative_money("asset", p.total)?;
            self.account_dir(&p.account)?;
            by_account.entry(p.account.clone()).or_default().push(p.clone());
        }
        let dirs = self.dirs_of(&by_account.keys().cloned().collect::<Vec<_>>())?;
        let config = self.config.clone();
        let n = points.len() as u64;
        blocking(move || {
            let _locks = dirs.iter().map(|(_, d)| DirLock::acquire(d)).collect::<Result<Vec<_>>>()?;
            let mut writes = Vec::new();
            for (account, dir) in &dirs {
                let mut file = load_assets(dir, account, &config)?;
                for p in &by_account[account] {
                    file.upsert(p.clone());
                }
                writes.push((dir.join(ASSETS), file.render()));
            }
            for (path, bytes) in writes {
                fsio::atomic_write(&path, &bytes)?;
            }
            Ok(n)
        })
        .await
    }

    async fn assets(&self, account: &AccountId, dates: Option<DateRange>) -> Result<Vec<AssetPoint>> {
        let dir = self.account_dir(account)?;
        let config = self.config.clone();
        let account = account.clone();
        blocking(move || {
            let mut points: Vec<AssetPoint> = load_assets(&dir, &account, &config)?
                .points
                .into_iter()
                .filter(|p| dates.is_none_or(|r| r.contains(p.date)))
                .collect();
            points.sort_by_key(|p| p.date);
            Ok(points)
        })
        .await
    }
}

/// The bars of one file, strictly (a bad row is an error); empty if there is no file.
fn read_kline_file(path: &Path, code: StockCode) -> Result<Vec<Kline>> {
    let Some(file) = fsio::read_parsed(path, |b| klines::parse(path, code, b))? else {
        return Ok(Vec::new());
    };
    match file.first_error(path) {
        Some(e) => Err(e),
        None => Ok(file.rows),
    }
}

fn select(rows: Vec<Kline>, range: KlineRange) -> Vec<Kline> {
    match range {
        KlineRange::Dates(r) => rows.into_iter().filter(|k| r.contains(k.date)).collect(),
        KlineRange::Last { n, until } => {
            let mut rows: Vec<Kline> =
                rows.into_iter().filter(|k| until.is_none_or(|u| k.date <= u)).collect();
            let skip = rows.len().saturating_sub(n as usize);
            rows.drain(..skip);
            rows
        }
    }
}

fn kline_codes_in(dir: &Path) -> Result<Vec<StockCode>> {
    let mut codes: Vec<StockCode> = Vec::new();
    for path in fsio::list_files(dir)? {
        match klines::code_of(&path) {
            Some(Ok(code)) => codes.push(code),
            Some(Err(e)) => tracing::warn!(path = %path.display(), "not a kline file: {e}"),
            None => {}
        }
    }
    codes.sort();
    codes.dedup();
    Ok(codes)
}

#[async_trait]
impl KlineStore for LegacyStore {
    async fn write_klines(&self, batch: &[Kline]) -> Result<u64> {
        let mut by_code: BTreeMap<StockCode, Vec<Kline>> = BTreeMap::new();
        for k in batch {
            k.check_shape()?;
            tierstore_model::quantity::non_negative("amount", k.amount)?;
            by_code.entry(k.code).or_default().push(*k);
        }
        let dir = self.daily_dir()?;
        let eol = self.config.platform.text_eol();
        let n = batch.len() as u64;
        blocking(move || {
            let _lock = DirLock::acquire(&dir)?;
            // Every file is read and rendered before any is written: a corrupt existing file
            // stops the whole batch with nothing changed.
            let mut writes = Vec::with_capacity(by_code.len());
            for (code, new) in &by_code {
                let path = klines::path_of(&dir, code);
                let (existing, layout) = match fsio::read_optional(&path)? {
                    Some(bytes) => {
                        let f = klines::parse(&path, *code, &bytes)?;
                        if let Some(e) = f.first_error(&path) {
                            return Err(e);
                        }
                        (f.rows, f.layout)
                    }
                    None => (Vec::new(), KlineLayout::pandas(eol)),
                };
                writes.push((path, klines::render(&klines::merge(existing, new), layout)));
            }
            for (path, bytes) in writes {
                fsio::atomic_write(&path, &bytes)?;
            }
            Ok(n)
        })
        .await
    }

    async fn klines(&self, code: &StockCode, range: KlineRange) -> Result<Vec<Kline>> {
        let path = klines::path_of(&self.daily_dir()?, code);
        let code = *code;
        blocking(move || Ok(select(read_kline_file(&path, code)?, range))).await
    }

    async fn klines_of(
        &self,
        codes: &[StockCode],
        range: KlineRange,
    ) -> Result<BTreeMap<StockCode, Vec<Kline>>> {
        let dir = self.daily_dir()?;
        let codes = codes.to_vec();
        blocking(move || {
            let mut out = BTreeMap::new();
            for code in codes {
                let rows = read_kline_file(&klines::path_of(&dir, &code), code)?;
                out.insert(code, select(rows, range));
            }
            Ok(out)
        })
        .await
    }

    fn stream_klines<'a>(
        &'a self,
        codes: Option<&'a [StockCode]>,
        dates: Option<DateRange>,
    ) -> BoxStream<'a, Result<KlineBatch>> {
        let dir = match self.daily_dir() {
            Ok(d) => d,
            Err(e) => return Box::pin(futures::stream::once(async move { Err(e) })),
        };
        let wanted: Option<Vec<StockCode>> = codes.map(|c| {
            let mut c = c.to_vec();
            c.sort();
            c.dedup();
            c
        });
        spawn_stream(move |tx| {
            let codes = match wanted {
                Some(c) => c,
                None => match kline_codes_in(&dir) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                },
            };
            for code in codes {
                let rows = match read_kline_file(&klines::path_of(&dir, &code), code) {
                    Ok(rows) => rows,
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                };
                let rows: Vec<Kline> = match dates {
                    Some(r) => rows.into_iter().filter(|k| r.contains(k.date)).collect(),
                    None => rows,
                };
                if !rows.is_empty() && tx.blocking_send(Ok(rows)).is_err() {
                    return;
                }
            }
        })
    }

    async fn kline_codes(&self) -> Result<Vec<StockCode>> {
        let dir = self.daily_dir()?;
        blocking(move || kline_codes_in(&dir)).await
    }
}
