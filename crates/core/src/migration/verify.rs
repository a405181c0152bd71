//! `storectl verify`: every tier compared with the files, value by value (see "Verify" in
//! `shared/spec/migration.md`). Rows are compared by identity — (account, code) for positions,
//! (account, journal ordinal) for trades, (account, date) for asset points, (code, date) for
//! bars — so a row missing on either side, a row only one side has and a field that differs
//! are each a difference naming the file and line on one side and the row on the other.
//! Journals and klines are streamed from both sides in identity order and merged, never
//! loaded whole. Rows the migration rejected (with `--skip-invalid`) are not differences.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures::{TryStreamExt, stream::BoxStream};
use tierstore_cool::CoolStore;
use tierstore_legacy::format::assets::ASSETS;
use tierstore_legacy::format::journal::{DEALS, JournalReader, SNIFF, Tail};
use tierstore_legacy::format::klines;
use tierstore_legacy::format::positions::{HELD_DAYS, MAX_PRICE, MIN_PRICE};
use tierstore_model::{
    AccountId, AssetStore, Kline, KlineStore, Position, PositionStore, Result, StockCode, StoreError, Trade,
    TradeDate, TradeQuery, TradeStore,
};

use super::inspection::{self, Inspection};
use super::records::{self, VerifyRecord};
use super::{Migration, MigrationError, ProgressHandle, blocking};

/// How much to compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyScope {
    /// Everything.
    Full,
    /// The bars of this many stocks chosen at random; positions, trades and asset curves in full.
    Sample(usize),
}

/// What `verify` is asked.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// How much.
    pub scope: VerifyScope,
    /// Compare Redis (positions).
    pub hot: bool,
    /// Compare ClickHouse (trades, asset curves, bars).
    pub cool: bool,
    /// At most this many differences are listed (all are counted).
    pub max_listed: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions { scope: VerifyScope::Full, hot: true, cool: true, max_listed: 1000 }
    }
}

/// What kind of difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DifferenceKind {
    /// The file has the row, the database not.
    Missing,
    /// The database has a row the files do not.
    Extra,
    /// Both have the row; a field differs.
    Differs,
    /// The file's row cannot be read (and was not rejected by the migration).
    Unreadable,
    /// The database holds no state at all for it (Redis lost its data).
    Lost,
}

/// One difference: the file side, the database side, the field.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Difference {
    /// `positions`, `trades`, `assets` or `klines`.
    pub kind: &'static str,
    /// What differs.
    pub what: DifferenceKind,
    /// The file.
    pub file: PathBuf,
    /// The line in it, when the row has one.
    pub line: Option<u64>,
    /// The row on the database side, e.g. `ClickHouse trades (prod_a, 321)`.
    pub row: String,
    /// The field that differs.
    pub field: Option<String>,
    /// Its value in the file.
    pub file_value: Option<String>,
    /// Its value in the database.
    pub db_value: Option<String>,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, " / {}: ", self.row)?;
        match self.what {
            DifferenceKind::Missing => write!(f, "missing from the database"),
            DifferenceKind::Extra => write!(f, "in the database only"),
            DifferenceKind::Lost => write!(f, "the database holds no state for it"),
            DifferenceKind::Unreadable => {
                write!(f, "the file's row cannot be read: {}", self.file_value.as_deref().unwrap_or(""))
            }
            DifferenceKind::Differs => write!(
                f,
                "{} is {} in the file, {} in the database",
                self.field.as_deref().unwrap_or("?"),
                self.file_value.as_deref().unwrap_or("(none)"),
                self.db_value.as_deref().unwrap_or("(none)")
            ),
        }
    }
}

/// Rows compared and differences found for one kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct KindSummary {
    /// Rows (or positions) compared.
    pub compared: u64,
    /// Differences found.
    pub differences: u64,
    /// Rows left out because the migration rejected them.
    pub rejected: u64,
}

/// What `verify` found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifyReport {
    /// Per kind.
    pub kinds: BTreeMap<&'static str, KindSummary>,
    /// The differences, at most `max_listed` of them.
    pub differences: Vec<Difference>,
    /// Differences in all.
    pub total_differences: u64,
    /// Whether everything was compared.
    pub full: bool,
    /// Whether no difference was found.
    pub passed: bool,
    /// Seconds taken.
    pub seconds: f64,
}

/// Collects differences: counts all, keeps the first `max`.
struct Findings {
    kinds: BTreeMap<&'static str, KindSummary>,
    listed: Vec<Difference>,
    total: u64,
    max: usize,
}

impl Findings {
    fn add(&mut self, d: Difference) {
        self.kinds.entry(d.kind).or_default().differences += 1;
        self.total += 1;
        if self.listed.len() < self.max {
            self.listed.push(d);
        }
    }

    /// Whether another difference would still be listed (finding its line costs a read of
    /// the file, worth it only then).
    fn listing(&self) -> bool {
        self.listed.len() < self.max
    }

    fn compared(&mut self, kind: &'static str, n: u64) {
        self.kinds.entry(kind).or_default().compared += n;
    }

    fn rejected(&mut self, kind: &'static str) {
        self.kinds.entry(kind).or_default().rejected += 1;
    }

    /// A row of the files that cannot be read: counted as rejected if the migration rejected
    /// it (its file and line are in the rejects report), else a difference.
    fn unreadable(
        &mut self,
        kind: &'static str,
        path: &Path,
        e: &StoreError,
        what: &str,
        rejected: &HashSet<(PathBuf, u64)>,
    ) {
        let line = records::error_line(e);
        if rejected.contains(&(path.to_path_buf(), line)) {
            self.rejected(kind);
        } else {
            self.add(diff(
                kind,
                DifferenceKind::Unreadable,
                path,
                Some(line),
                what.to_owned(),
                None,
                Some(e.to_string()),
                None,
            ));
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn diff(
    kind: &'static str,
    what: DifferenceKind,
    file: &Path,
    line: Option<u64>,
    row: String,
    field: Option<&str>,
    file_value: Option<String>,
    db_value: Option<String>,
) -> Difference {
    Difference {
        kind,
        what,
        file: file.to_path_buf(),
        line,
        row,
        field: field.map(str::to_owned),
        file_value,
        db_value,
    }
}

/// Compares the tiers with the files (see the module doc) and records the outcome; a passing
/// full verify is what `switch db_first` asks for.
pub async fn verify(
    m: &Migration,
    opts: &VerifyOptions,
    progress: &ProgressHandle,
) -> Result<VerifyReport, MigrationError> {
    let started = Instant::now();
    let rejected: HashSet<(PathBuf, u64)> =
        Inspection::recorded(&m.warm).await?.errors.into_iter().map(|r| (r.path, r.line)).collect();
    let mut found = Findings { kinds: BTreeMap::new(), listed: Vec::new(), total: 0, max: opts.max_listed };
    if opts.hot {
        let hot = super::connect_hot(&m.config).await?;
        verify_positions(m, &hot, &mut found).await?;
    }
    if opts.cool {
        let cool = crate::cool::connect(&m.config).await?;
        progress.stage("trades", 0);
        for (account, dir) in &m.source.accounts {
            let path = dir.join(DEALS);
            verify_journal(m, &cool, account, &path, &rejected, &mut found, progress).await?;
        }
        progress.done();
        for (account, dir) in &m.source.accounts {
            verify_assets(&cool, account, &dir.join(ASSETS), &rejected, &mut found).await?;
        }
        if let Some(daily) = &m.source.daily_dir {
            verify_klines(&cool, daily, opts.scope, &rejected, &mut found, progress).await?;
        }
    }
    let full = opts.scope == VerifyScope::Full && opts.hot && opts.cool;
    let passed = found.total == 0;
    let rows = found.kinds.values().map(|k| k.compared).sum();
    let phase = tierstore_model::MigrationStateStore::phase(&m.warm).await?;
    let record = VerifyRecord { at: chrono::Utc::now(), full, passed, rows, differences: found.total, phase };
    records::save(&m.warm, records::VERIFY, &record).await?;
    tracing::info!(full, passed, rows, differences = found.total, "verify finished");
    Ok(VerifyReport {
        kinds: found.kinds,
        differences: found.listed,
        total_differences: found.total,
        full,
        passed,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The first line of `path` containing `needle` (`last`: the last such line), for naming the
/// file side of a difference.
fn line_of(path: &Path, needle: &str, last: bool) -> Option<u64> {
    let bytes = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let mut found = None;
    for (i, l) in text.split('\n').enumerate() {
        if l.contains(needle) {
            found = Some(i as u64 + 1);
            if !last {
                break;
            }
        }
    }
    found
}

fn show_days(p: &Position) -> Option<String> {
    p.held_days.map(|h| format!("{h:?}"))
}

async fn verify_positions(m: &Migration, hot: &tierstore_hot::HotStore, found: &mut Findings) -> Result<()> {
    const KIND: &str = "positions";
    for (account, dir) in &m.source.accounts {
        let files = m.legacy.account_positions(account).await?.rounded()?;
        let held = dir.join(HELD_DAYS);
        let row = |code: &str| format!("Redis positions ({account}, {code})");
        let db = match hot.account_positions(account).await {
            Ok(s) => s,
            Err(StoreError::NotSeeded { reason, .. }) => {
                found.compared(KIND, files.positions.len() as u64);
                found.add(diff(
                    KIND,
                    DifferenceKind::Lost,
                    &held,
                    None,
                    format!("Redis positions of {account}"),
                    None,
                    Some(format!("{} position(s)", files.positions.len())),
                    Some(reason),
                ));
                continue;
            }
            Err(e) => return Err(e),
        };
        found.compared(KIND, files.positions.len() as u64);
        if files.last_increment != db.last_increment {
            found.add(diff(
                KIND,
                DifferenceKind::Differs,
                &held,
                line_of(&held, "_inc_date", false),
                format!("Redis positions of {account}"),
                Some("_inc_date"),
                files.last_increment.map(|d| d.to_string()),
                db.last_increment.map(|d| d.to_string()),
            ));
        }
        let codes: std::collections::BTreeSet<&StockCode> =
            files.positions.keys().chain(db.positions.keys()).collect();
        for code in codes {
            let symbol = code.symbol();
            match (files.positions.get(code), db.positions.get(code)) {
                (Some(_), None) => found.add(diff(
                    KIND,
                    DifferenceKind::Missing,
                    &held,
                    line_of(&held, symbol, false),
                    row(&code.to_string()),
                    None,
                    None,
                    None,
                )),
                (None, Some(_)) => found.add(diff(
                    KIND,
                    DifferenceKind::Extra,
                    &held,
                    None,
                    row(&code.to_string()),
                    None,
                    None,
                    None,
                )),
                (Some(f), Some(d)) => {
                    let fields = [
                        ("held_days", &held, show_days(f), show_days(d)),
                        (
                            "max_price",
                            &dir.join(MAX_PRICE),
                            f.max_price.map(|p| p.to_string()),
                            d.max_price.map(|p| p.to_string()),
                        ),
                        (
                            "min_price",
                            &dir.join(MIN_PRICE),
                            f.min_price.map(|p| p.to_string()),
                            d.min_price.map(|p| p.to_string()),
                        ),
                    ];
                    for (field, file, a, b) in fields {
                        if a != b {
                            found.add(diff(
                                KIND,
                                DifferenceKind::Differs,
                                file,
                                line_of(file, symbol, false),
                                row(&code.to_string()),
                                Some(field),
                                a,
                                b,
                            ));
                        }
                    }
                }
                (None, None) => {}
            }
        }
    }
    Ok(())
}

/// Rows of a database stream, peekable across chunk boundaries.
struct Cursor<'a, T> {
    stream: BoxStream<'a, Result<Vec<T>>>,
    buf: VecDeque<T>,
}

impl<'a, T> Cursor<'a, T> {
    fn new(stream: BoxStream<'a, Result<Vec<T>>>) -> Self {
        Cursor { stream, buf: VecDeque::new() }
    }

    async fn peek(&mut self) -> Result<Option<&T>> {
        while self.buf.is_empty() {
            match self.stream.try_next().await? {
                Some(chunk) => self.buf.extend(chunk),
                None => return Ok(None),
            }
        }
        Ok(self.buf.front())
    }

    fn pop(&mut self) -> Option<T> {
        self.buf.pop_front()
    }
}

/// The fields of a trade that must be equal on both sides, named.
fn trade_fields(t: &Trade) -> [(&'static str, String); 7] {
    [
        ("time", t.time.to_rfc3339()),
        ("code", t.code.to_string()),
        ("name", t.name.clone()),
        ("kind", t.kind.to_string()),
        ("remark", t.remark.clone()),
        ("price", format!("{:?}", t.price.get())),
        ("volume", t.volume.to_string()),
    ]
}

type JournalRow = (u64, std::result::Result<Trade, StoreError>);

async fn verify_journal(
    m: &Migration,
    cool: &CoolStore,
    account: &AccountId,
    path: &Path,
    rejected: &HashSet<(PathBuf, u64)>,
    found: &mut Findings,
    progress: &ProgressHandle,
) -> Result<()> {
    const KIND: &str = "trades";
    let row = |seq: u64| format!("ClickHouse trades ({account}, {seq})");
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<JournalRow>>(4);
    let reader = if path.is_file() {
        let (path, account, tz) = (path.to_path_buf(), account.clone(), m.config.timezone);
        Some(tokio::task::spawn_blocking(move || -> Result<Option<u64>> {
            let file = std::fs::File::open(&path)
                .map_err(|e| StoreError::corrupt(&path, None, format!("cannot open: {e}")))?;
            let source = std::io::BufReader::with_capacity(SNIFF, file);
            let mut reader = JournalReader::new(&path, source, account, tz, Tail::Leave)?;
            let mut chunk = Vec::with_capacity(10_000);
            while let Some(r) = reader.next_row() {
                chunk.push(r);
                if chunk.len() == 10_000 && tx.blocking_send(std::mem::take(&mut chunk)).is_err() {
                    return Ok(None);
                }
            }
            let _ = tx.blocking_send(chunk);
            Ok(reader.unread_tail())
        }))
    } else {
        drop(tx);
        None
    };
    let query = TradeQuery { accounts: vec![account.clone()], ..Default::default() };
    let mut db = Cursor::new(cool.stream_trades(&query));
    while let Some(chunk) = rx.recv().await {
        progress.advance(chunk.len() as u64);
        for (line, r) in chunk {
            let t = match r {
                Ok(t) => t,
                Err(_) if rejected.contains(&(path.to_path_buf(), line)) => {
                    found.rejected(KIND);
                    continue;
                }
                Err(e) => {
                    found.add(diff(
                        KIND,
                        DifferenceKind::Unreadable,
                        path,
                        Some(line),
                        row(0),
                        None,
                        Some(e.to_string()),
                        None,
                    ));
                    continue;
                }
            };
            let seq = t.seq.unwrap_or(0);
            found.compared(KIND, 1);
            // Rows the database has before this ordinal are not in the file.
            while let Some(d) = db.peek().await? {
                if d.seq.unwrap_or(0) >= seq {
                    break;
                }
                let d = db.pop();
                let s = d.and_then(|d| d.seq).unwrap_or(0);
                found.add(diff(KIND, DifferenceKind::Extra, path, None, row(s), None, None, None));
            }
            if db.peek().await?.is_some_and(|d| d.seq == Some(seq)) {
                let Some(d) = db.pop() else { continue };
                for ((field, a), (_, b)) in trade_fields(&t).into_iter().zip(trade_fields(&d)) {
                    if a != b {
                        found.add(diff(
                            KIND,
                            DifferenceKind::Differs,
                            path,
                            Some(line),
                            row(seq),
                            Some(field),
                            Some(a),
                            Some(b),
                        ));
                    }
                }
            } else {
                found.add(diff(KIND, DifferenceKind::Missing, path, Some(line), row(seq), None, None, None));
            }
        }
    }
    if let Some(reader) = reader {
        let tail = reader
            .await
            .map_err(|e| StoreError::corrupt(path, None, format!("the reader failed: {e}")))??;
        if let Some(line) = tail {
            // Not a row yet, so in no tier: the files are not at rest, or the line was cut off.
            found.add(diff(
                KIND,
                DifferenceKind::Unreadable,
                path,
                Some(line),
                format!("ClickHouse trades of {account}"),
                None,
                Some("the last line has no line terminator (being written, or cut off)".into()),
                None,
            ));
        }
    }
    while db.peek().await?.is_some() {
        let s = db.pop().and_then(|d| d.seq).unwrap_or(0);
        found.add(diff(KIND, DifferenceKind::Extra, path, None, row(s), None, None, None));
    }
    Ok(())
}

async fn verify_assets(
    cool: &CoolStore,
    account: &AccountId,
    path: &Path,
    rejected: &HashSet<(PathBuf, u64)>,
    found: &mut Findings,
) -> Result<()> {
    const KIND: &str = "assets";
    let row = |d: TradeDate| format!("ClickHouse assets ({account}, {d})");
    let files: BTreeMap<TradeDate, String> = if path.is_file() {
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|e| StoreError::corrupt(path, None, format!("cannot read: {e}")))?;
        let what = format!("ClickHouse assets of {account}");
        let (file, errors) =
            match tierstore_legacy::format::assets::AssetFile::parse_lenient(path, &bytes, account) {
                Ok(parsed) => parsed,
                Err(e) => {
                    found.unreadable(KIND, path, &e, &what, rejected);
                    return Ok(());
                }
            };
        for e in &errors {
            found.unreadable(KIND, path, e, &what, rejected);
        }
        file.points.into_iter().map(|p| (p.date, p.total.normalize().to_string())).collect()
    } else {
        BTreeMap::new()
    };
    let db: BTreeMap<TradeDate, String> = cool
        .assets(account, None)
        .await?
        .into_iter()
        .map(|p| (p.date, p.total.normalize().to_string()))
        .collect();
    found.compared(KIND, files.len() as u64);
    let dates: std::collections::BTreeSet<&TradeDate> = files.keys().chain(db.keys()).collect();
    for d in dates {
        let listing = found.listing();
        let line = || if listing { line_of(path, &format!("{d},"), true) } else { None };
        match (files.get(d), db.get(d)) {
            (Some(_), None) => {
                found.add(diff(KIND, DifferenceKind::Missing, path, line(), row(*d), None, None, None))
            }
            (None, Some(_)) => {
                found.add(diff(KIND, DifferenceKind::Extra, path, None, row(*d), None, None, None))
            }
            (Some(a), Some(b)) if a != b => found.add(diff(
                KIND,
                DifferenceKind::Differs,
                path,
                line(),
                row(*d),
                Some("total"),
                Some(a.clone()),
                Some(b.clone()),
            )),
            _ => {}
        }
    }
    Ok(())
}

/// A kline file read for comparison.
struct FileBars {
    code: StockCode,
    path: PathBuf,
    bars: Vec<Kline>,
    errors: Vec<StoreError>,
}

fn bar_fields(k: &Kline) -> [(&'static str, String); 6] {
    [
        ("open", format!("{:?}", k.open.get())),
        ("high", format!("{:?}", k.high.get())),
        ("low", format!("{:?}", k.low.get())),
        ("close", format!("{:?}", k.close.get())),
        ("volume", k.volume.to_string()),
        ("amount", format!("{:?}", k.amount)),
    ]
}

fn bars_equal(a: &Kline, b: &Kline) -> bool {
    a.open == b.open
        && a.high == b.high
        && a.low == b.low
        && a.close == b.close
        && a.volume == b.volume
        && a.amount == b.amount
}

async fn verify_klines(
    cool: &CoolStore,
    daily: &Path,
    scope: VerifyScope,
    rejected: &HashSet<(PathBuf, u64)>,
    found: &mut Findings,
    progress: &ProgressHandle,
) -> Result<(), MigrationError> {
    const KIND: &str = "klines";
    let mut files = {
        let daily = daily.to_path_buf();
        blocking(move || inspection::kline_files(&daily)).await?
    };
    let mut sample: Option<Vec<StockCode>> = None;
    if let VerifyScope::Sample(n) = scope {
        use rand::seq::SliceRandom as _;
        files.shuffle(&mut rand::rng());
        files.truncate(n);
        files.sort();
        sample = Some(files.iter().filter_map(|p| klines::code_of(p).and_then(|c| c.ok())).collect());
    }
    progress.stage("klines", files.len() as u64);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<FileBars>>(16);
    let reader = tokio::task::spawn_blocking(move || {
        for path in files {
            let read = (|| {
                let code = match klines::code_of(&path) {
                    Some(Ok(c)) => c,
                    _ => return Err(StoreError::corrupt(&path, None, "not a kline file name")),
                };
                let bytes = std::fs::read(&path)
                    .map_err(|e| StoreError::corrupt(&path, None, format!("cannot read: {e}")))?;
                match klines::parse(&path, code, &bytes) {
                    Ok(f) => Ok(FileBars { code, path: path.clone(), bars: f.rows, errors: f.errors }),
                    Err(e) => Ok(FileBars { code, path: path.clone(), bars: Vec::new(), errors: vec![e] }),
                }
            })();
            if tx.blocking_send(read).is_err() {
                return;
            }
        }
    });
    let stream = cool.stream_klines(sample.as_deref(), None);
    let mut db = Cursor::new(stream);
    let row = |k: &Kline| format!("ClickHouse klines ({}, {})", k.code, k.date);
    // The file side of a bar only the database has: the file that would hold it.
    let extra = |found: &mut Findings, k: &Kline| {
        let path = klines::path_of(daily, &k.code);
        found.add(diff(KIND, DifferenceKind::Extra, &path, None, row(k), None, None, None));
    };
    let date_text = |d: TradeDate| d.naive().format("%Y%m%d").to_string();
    while let Some(file) = rx.recv().await {
        progress.advance(1);
        let file = file?;
        let what = format!("ClickHouse klines of {}", file.code);
        for e in &file.errors {
            found.unreadable(KIND, &file.path, e, &what, rejected);
        }
        // Bars of codes before this file's are in the database only.
        while let Some(k) = db.peek().await? {
            if k.code >= file.code {
                break;
            }
            if let Some(k) = db.pop() {
                extra(found, &k);
            }
        }
        found.compared(KIND, file.bars.len() as u64);
        for bar in &file.bars {
            while let Some(k) = db.peek().await? {
                if k.code != file.code || k.date >= bar.date {
                    break;
                }
                if let Some(k) = db.pop() {
                    extra(found, &k);
                }
            }
            let here = db.peek().await?.is_some_and(|k| k.code == file.code && k.date == bar.date);
            if !here {
                let line = if found.listing() {
                    line_of(&file.path, &format!("{},", date_text(bar.date)), true)
                } else {
                    None
                };
                found.add(diff(KIND, DifferenceKind::Missing, &file.path, line, row(bar), None, None, None));
                continue;
            }
            let Some(k) = db.pop() else { continue };
            if !bars_equal(bar, &k) {
                let line = if found.listing() {
                    line_of(&file.path, &format!("{},", date_text(bar.date)), true)
                } else {
                    None
                };
                for ((field, a), (_, b)) in bar_fields(bar).into_iter().zip(bar_fields(&k)) {
                    if a != b {
                        found.add(diff(
                            KIND,
                            DifferenceKind::Differs,
                            &file.path,
                            line,
                            row(bar),
                            Some(field),
                            Some(a),
                            Some(b),
                        ));
                    }
                }
            }
        }
        while let Some(k) = db.peek().await? {
            if k.code != file.code {
                break;
            }
            if let Some(k) = db.pop() {
                extra(found, &k);
            }
        }
    }
    reader.await.map_err(|e| MigrationError::Failed(format!("the kline reader failed: {e}")))?;
    while db.peek().await?.is_some() {
        if let Some(k) = db.pop() {
            extra(found, &k);
        }
    }
    progress.done();
    Ok(())
}
