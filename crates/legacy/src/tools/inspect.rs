//! What a migration would read: every legacy file under a directory, with its kind, encoding,
//! shape, row count, date range and every error by line. Backs `storectl inspect`.
//!
//! Inspection never stops at the first bad row: it reads every file to the end and reports
//! all it finds, so an operator fixes a dataset in one pass. It only reads, each file once,
//! and judges nothing itself: every check is the format layer's (the same parsers the store
//! reads with), collected leniently. A journal line still being written is a note, not an
//! error: the Python program may be appending right now, and a migration leaves that line for
//! its next pass.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use tierstore_model::{AccountId, StockCode, StoreError, TradeDate};

use crate::format::assets::{ASSETS, AssetFile};
use crate::format::code_list::{self, CODE_LIST};
use crate::format::encoding::{Encoding, Eol};
use crate::format::journal::{self, DEALS, JournalReader, SNIFF, Tail};
use crate::format::klines;
use crate::format::positions::{HELD_DAYS, JsonDoc, MAX_PRICE, MIN_PRICE};

/// The kinds of legacy file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// `held_days.json`.
    HeldDays,
    /// `max_price.json`.
    MaxPrice,
    /// `min_price.json`.
    MinPrice,
    /// `deal_hist.csv`.
    Deals,
    /// `assets.csv`.
    Assets,
    /// `_daily/<code>.csv`.
    Kline,
    /// `_daily/_code_list.csv`.
    CodeList,
}

impl FileKind {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::HeldDays => "held_days",
            FileKind::MaxPrice => "max_price",
            FileKind::MinPrice => "min_price",
            FileKind::Deals => "deals",
            FileKind::Assets => "assets",
            FileKind::Kline => "kline",
            FileKind::CodeList => "code_list",
        }
    }
}

/// One problem in a file. `line` is 0 when the problem is the whole file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LineError {
    /// 1-based line, or 0 for the whole file.
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

/// The report of one file. JSON carries exactly `path`, `kind`, `encoding`, `rows`, `errors`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// Its kind.
    pub kind: FileKind,
    /// `ascii`, `utf-8`, `utf-8-bom`, `gbk`, or `unknown`.
    pub encoding: String,
    /// Data rows (entries of JSON files), bad ones and duplicates included.
    pub rows: u64,
    /// Every problem found.
    pub errors: Vec<LineError>,
    /// Shape and line endings, e.g. `nested, crlf` (text output only).
    #[serde(skip)]
    pub format: String,
    /// First and last date found (text output only).
    #[serde(skip)]
    pub dates: Option<(TradeDate, TradeDate)>,
    /// Remarks that are not errors, e.g. duplicated dates (text output only).
    #[serde(skip)]
    pub notes: Vec<String>,
    /// Open positions (held-days files only).
    #[serde(skip)]
    pub open_positions: u64,
}

impl FileReport {
    fn new(path: &Path, kind: FileKind) -> Self {
        FileReport {
            path: path.to_path_buf(),
            kind,
            encoding: "unknown".into(),
            rows: 0,
            errors: Vec::new(),
            format: String::new(),
            dates: None,
            notes: Vec::new(),
            open_positions: 0,
        }
    }

    fn error(&mut self, line: u64, reason: impl Into<String>) {
        self.errors.push(LineError { line, reason: reason.into() });
    }

    fn store_error(&mut self, e: StoreError) {
        match e {
            StoreError::Corrupt { line, reason, .. } => self.error(line.unwrap_or(0), reason),
            other => self.error(0, other.to_string()),
        }
    }

    fn date(&mut self, d: TradeDate) {
        self.dates = Some(match self.dates {
            None => (d, d),
            Some((a, b)) => (a.min(d), b.max(d)),
        });
    }
}

/// Sums over all files.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    /// Open positions in all held-days files (closed ones not counted).
    pub positions: u64,
    /// Data rows of all journals.
    pub trades: u64,
    /// Data rows of all asset files.
    pub assets: u64,
    /// Data rows of all kline files, duplicates included.
    pub kline_rows: u64,
    /// Kline files.
    pub stocks: u64,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InspectReport {
    /// Every file, strategy directories first (in name order), then the kline folder.
    pub files: Vec<FileReport>,
    /// Sums.
    pub totals: Totals,
}

impl InspectReport {
    /// Whether any file has an error.
    pub fn has_errors(&self) -> bool {
        self.files.iter().any(|f| !f.errors.is_empty())
    }
}

/// The files of a strategy directory, by name, and their kinds.
pub const STRATEGY_FILES: [(&str, FileKind); 5] = [
    (HELD_DAYS, FileKind::HeldDays),
    (MAX_PRICE, FileKind::MaxPrice),
    (MIN_PRICE, FileKind::MinPrice),
    (DEALS, FileKind::Deals),
    (ASSETS, FileKind::Assets),
];

fn is_strategy_dir(dir: &Path) -> bool {
    STRATEGY_FILES.iter().any(|(name, _)| dir.join(name).is_file())
}

/// The strategy directories under `dir`: `dir` itself if it holds position, deal or asset
/// files, else each sub-directory that does.
pub fn strategy_dirs(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    if is_strategy_dir(dir) {
        return Ok(vec![dir.to_path_buf()]);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| crate::fsio::io_error(dir, "cannot list", &e))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && is_strategy_dir(p))
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// The kline folder: `daily_dir` if given, else `<dir>/_daily` when `dir` is a cache root.
pub fn kline_dir(dir: &Path, daily_dir: Option<&Path>) -> Option<PathBuf> {
    match daily_dir {
        Some(d) => Some(d.to_path_buf()),
        None if !is_strategy_dir(dir) && dir.join("_daily").is_dir() => Some(dir.join("_daily")),
        None => None,
    }
}

/// Inspects `dir` (a strategy directory or a cache root) and the kline folder.
/// `progress` is called once per kline file read, from worker threads.
pub fn inspect(
    dir: &Path,
    daily_dir: Option<&Path>,
    timezone: chrono_tz::Tz,
    progress: &(dyn Fn() + Sync),
) -> Result<InspectReport, StoreError> {
    let meta = std::fs::metadata(dir).map_err(|e| crate::fsio::io_error(dir, "cannot open", &e))?;
    if !meta.is_dir() {
        return Err(StoreError::invalid("legacy_dir", dir.display().to_string(), "not a directory"));
    }
    let mut files = Vec::new();
    // Rows are only counted and checked; which account they belong to does not matter here.
    let account = inspection_account();
    for sdir in strategy_dirs(dir)? {
        for (name, kind) in STRATEGY_FILES {
            let path = sdir.join(name);
            if path.is_file() {
                files.push(inspect_file(&path, kind, &account, timezone));
            }
        }
    }
    if let Some(kdir) = kline_dir(dir, daily_dir) {
        files.extend(inspect_kline_dir(&kdir, progress)?);
    }
    let mut totals = Totals::default();
    for f in &files {
        match f.kind {
            FileKind::HeldDays => totals.positions += f.open_positions,
            FileKind::Deals => totals.trades += f.rows,
            FileKind::Assets => totals.assets += f.rows,
            FileKind::Kline => {
                totals.kline_rows += f.rows;
                totals.stocks += 1;
            }
            _ => {}
        }
    }
    Ok(InspectReport { files, totals })
}

fn inspection_account() -> AccountId {
    AccountId::new("inspect").expect("a constant account id is valid")
}

/// Inspects one file of a strategy directory or kline folder. Never panics, whatever the bytes.
pub fn inspect_file(path: &Path, kind: FileKind, account: &AccountId, timezone: chrono_tz::Tz) -> FileReport {
    let mut r = FileReport::new(path, kind);
    if kind == FileKind::Deals {
        // Journals are streamed: they can be large, and are read as they are at this moment.
        match crate::fsio::open_snapshot(path, SNIFF) {
            Ok(Some(source)) => inspect_journal(&mut r, source, account, timezone),
            Ok(None) => r.error(0, "cannot read: no such file"),
            Err(e) => r.store_error(e),
        }
        return r;
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            r.error(0, format!("cannot read: {e}"));
            return r;
        }
    };
    inspect_bytes(&mut r, &bytes, account, timezone);
    r
}

/// The part of [`inspect_file`] after reading (public for tests that feed it arbitrary bytes).
pub fn inspect_bytes(r: &mut FileReport, bytes: &[u8], account: &AccountId, timezone: chrono_tz::Tz) {
    let path = r.path.clone();
    r.encoding = Encoding::detect(bytes).map(|e| e.name().to_owned()).unwrap_or_else(|| "unknown".into());
    let eol = Eol::describe(bytes);
    match r.kind {
        FileKind::HeldDays | FileKind::MaxPrice | FileKind::MinPrice => match JsonDoc::parse(&path, bytes) {
            Err(e) => r.store_error(e),
            Ok(doc) => {
                let codes: Vec<StockCode> = doc.codes().copied().collect();
                r.rows = codes.len() as u64;
                for code in &codes {
                    let checked = match r.kind {
                        FileKind::HeldDays => doc.held_days(code).map(|h| {
                            if h.is_some_and(tierstore_model::HeldDays::is_open) {
                                r.open_positions += 1;
                            }
                        }),
                        FileKind::MaxPrice => doc.price(code, "max_price").map(|_| ()),
                        _ => doc.price(code, "min_price").map(|_| ()),
                    };
                    if let Err(e) = checked {
                        r.store_error(e);
                    }
                }
                match doc.inc_date() {
                    Ok(Some(d)) => r.date(d),
                    Ok(None) => {}
                    Err(e) => r.store_error(e),
                }
                let shape = match (r.kind, doc.held_days_format()) {
                    (FileKind::HeldDays, Some(f)) => f.name(),
                    (FileKind::HeldDays, None) => "empty",
                    _ => "json",
                };
                r.format = format!("{shape}, {eol}");
            }
        },
        FileKind::Deals => inspect_journal(r, bytes, account, timezone),
        FileKind::Assets => match AssetFile::parse_lenient(&path, bytes, account) {
            Err(e) => r.store_error(e),
            Ok((file, errors)) => {
                r.rows = (file.points.len() + errors.len()) as u64;
                for p in &file.points {
                    r.date(p.date);
                }
                for e in errors {
                    r.store_error(e);
                }
                r.format = eol.to_owned();
            }
        },
        FileKind::Kline => inspect_kline(r, bytes),
        FileKind::CodeList => inspect_code_list(r, bytes),
    }
}

fn inspect_journal(
    r: &mut FileReport,
    source: impl std::io::BufRead,
    account: &AccountId,
    timezone: chrono_tz::Tz,
) {
    let path = r.path.clone();
    let mut reader = match JournalReader::new(&path, source, account.clone(), timezone, Tail::Leave) {
        Ok(reader) => reader,
        Err(e) => return r.store_error(e),
    };
    r.encoding = reader.encoding().name().to_owned();
    while let Some((line, row)) = reader.next_row() {
        match row {
            Ok(t) => {
                r.rows += 1;
                if let Some(d) = journal::local_date(&t, &timezone) {
                    r.date(d);
                }
            }
            Err(e) => {
                // A header problem is not a data row.
                if line > 1 {
                    r.rows += 1;
                }
                r.store_error(e);
            }
        }
    }
    if let Some(line) = reader.unread_tail() {
        r.notes.push(format!(
            "line {line} has no line terminator yet (being written, or cut off): not counted, left for the next pass"
        ));
    }
    r.format = match (reader.header_eol(), reader.row_eol()) {
        (Some(h), Some(rows)) => format!("header {}, rows {}", h.name(), rows.name()),
        (Some(h), None) => format!("header {}, no rows", h.name()),
        _ => String::new(),
    };
}

fn inspect_kline(r: &mut FileReport, bytes: &[u8]) {
    let path = r.path.clone();
    let code = match klines::code_of(&path) {
        Some(Ok(c)) => c,
        Some(Err(e)) => return r.error(0, format!("file name is not a stock code: {e}")),
        None => return r.error(0, "not a kline file name"),
    };
    match klines::parse(&path, code, bytes) {
        Err(e) => r.store_error(e),
        Ok(f) => {
            r.rows = f.data_lines;
            if let (Some(a), Some(b)) = (f.rows.first(), f.rows.last()) {
                r.date(a.date);
                r.date(b.date);
            }
            for e in f.errors {
                r.store_error(e);
            }
            if !f.was_sorted {
                r.notes.push("rows not in date order".into());
            }
            for (d, line) in &f.duplicates {
                r.notes.push(format!("date {d} appears more than once; line {line} wins"));
            }
            let volume = if f.layout.float_volume { "float volume" } else { "int volume" };
            r.format = format!("{}, {volume}", Eol::describe(bytes));
        }
    }
}

fn inspect_code_list(r: &mut FileReport, bytes: &[u8]) {
    match code_list::parse_lenient(&r.path.clone(), bytes) {
        Err(e) => r.store_error(e),
        Ok((list, errors)) => {
            r.rows = list.rows;
            for e in errors {
                r.store_error(e);
            }
        }
    }
    r.format = Eol::describe(bytes).to_owned();
}

/// Every `.csv` of a kline folder, in parallel on all cores.
fn inspect_kline_dir(dir: &Path, progress: &(dyn Fn() + Sync)) -> Result<Vec<FileReport>, StoreError> {
    let paths: Vec<PathBuf> = crate::fsio::list_files(dir)?
        .into_iter()
        .filter(|p| {
            p.extension().is_some_and(|e| e == "csv")
                && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(paths.len().max(1));
    let account = inspection_account();
    let tz = chrono_tz::Asia::Shanghai;
    let mut reports: Vec<(usize, FileReport)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = paths.get(i) else { break };
                        let kind = if path.file_name().is_some_and(|n| n == CODE_LIST) {
                            FileKind::CodeList
                        } else {
                            FileKind::Kline
                        };
                        mine.push((i, inspect_file(path, kind, &account, tz)));
                        progress();
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    reports.sort_by_key(|(i, _)| *i);
    // The code list first, then the stocks.
    reports.sort_by_key(|(_, r)| r.kind != FileKind::CodeList);
    Ok(reports.into_iter().map(|(_, r)| r).collect())
}

/// How many kline files `inspect` will read (for a progress bar).
pub fn kline_file_count(dir: &Path, daily_dir: Option<&Path>) -> u64 {
    kline_dir(dir, daily_dir)
        .and_then(|d| crate::fsio::list_files(&d).ok())
        .map(|files| files.iter().filter(|p| p.extension().is_some_and(|e| e == "csv")).count() as u64)
        .unwrap_or(0)
}

/// The kline files of a folder and their bytes: what a kline table's size is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct KlineFolderSize {
    /// Kline files (`*.csv` named by a stock code).
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// Sums the kline files of `dir` (without reading them).
pub fn kline_folder_size(dir: &Path) -> Result<KlineFolderSize, StoreError> {
    let mut size = KlineFolderSize { files: 0, bytes: 0 };
    for path in crate::fsio::list_files(dir)? {
        if crate::format::klines::code_of(&path).is_some_and(|c| c.is_ok()) {
            let meta =
                std::fs::metadata(&path).map_err(|e| crate::fsio::io_error(&path, "cannot stat", &e))?;
            size.files += 1;
            size.bytes += meta.len();
        }
    }
    Ok(size)
}

#[cfg(test)]
mod folder_tests {
    use super::*;

    #[test]
    fn only_kline_files_count() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("000001.SZ.csv"), b"0123456789").unwrap();
        std::fs::write(dir.path().join("600000.SH.csv"), b"01234").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"not a kline file").unwrap();
        std::fs::write(dir.path().join("backup.csv"), b"no code in the name").unwrap();
        std::fs::create_dir(dir.path().join("300750.SZ.csv")).unwrap();
        assert_eq!(kline_folder_size(dir.path()).unwrap(), KlineFolderSize { files: 2, bytes: 15 });
        assert!(kline_folder_size(&dir.path().join("missing")).is_err());
    }
}
