//! The migration's view of `inspect`: every source file checked before anything is written,
//! remembered by fingerprint (length and modification time) so a later step re-reads only the
//! files that changed since.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use tierstore_legacy::format::code_list::CODE_LIST;
use tierstore_legacy::format::klines;
use tierstore_legacy::format::positions::{HELD_DAYS, MAX_PRICE, MIN_PRICE};
use tierstore_legacy::inspect::{FileKind, STRATEGY_FILES, inspect_file};
use tierstore_model::{AccountId, MigrationStateStore, Result, StoreError};

use super::records::{self, Rejected};
use super::{Progress, Source};

/// What identifies a file's content cheaply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Fingerprint {
    len: u64,
    mtime_s: i64,
    mtime_ns: u32,
}

impl Fingerprint {
    pub(crate) fn of(path: &Path) -> Result<Fingerprint> {
        let meta = std::fs::metadata(path)
            .map_err(|e| StoreError::corrupt(path, None, format!("cannot stat: {e}")))?;
        let (mtime_s, mtime_ns) = match meta.modified().map(|t| t.duration_since(std::time::UNIX_EPOCH)) {
            Ok(Ok(d)) => (i64::try_from(d.as_secs()).unwrap_or(i64::MAX), d.subsec_nanos()),
            _ => (0, 0),
        };
        Ok(Fingerprint { len: meta.len(), mtime_s, mtime_ns })
    }
}

/// The files last inspected and what was wrong with them.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Inspection {
    /// Every source file with its fingerprint when inspected.
    pub files: BTreeMap<PathBuf, Fingerprint>,
    /// Every error found, file and line (line 0: the whole file).
    pub errors: Vec<Rejected>,
}

impl Inspection {
    pub(crate) async fn recorded(warm: &impl MigrationStateStore) -> Result<Inspection> {
        Ok(records::load(warm, records::INSPECTION).await?.unwrap_or_default())
    }

    pub(crate) async fn record(&self, warm: &impl MigrationStateStore) -> Result<()> {
        records::save(warm, records::INSPECTION, self).await
    }

    /// Errors in position files: those cannot be migrated in part, `--skip-invalid` or not.
    pub(crate) fn position_errors(&self) -> Vec<Rejected> {
        self.errors
            .iter()
            .filter(|r| {
                r.path.file_name().is_some_and(|n| n == HELD_DAYS || n == MAX_PRICE || n == MIN_PRICE)
            })
            .cloned()
            .collect()
    }
}

/// Every source file of `source` and its kind.
pub(crate) fn source_files(source: &Source) -> Result<Vec<(PathBuf, FileKind, AccountId)>> {
    let mut out = Vec::new();
    for (account, dir) in &source.accounts {
        for (name, kind) in STRATEGY_FILES {
            let path = dir.join(name);
            if path.is_file() {
                out.push((path, kind, account.clone()));
            }
        }
    }
    if let Some(daily) = &source.daily_dir {
        let any = AccountId::new("klines").map_err(|e| e.in_field("account"))?;
        for path in kline_files(daily)? {
            out.push((path, FileKind::Kline, any.clone()));
        }
        let list = daily.join(CODE_LIST);
        if list.is_file() {
            out.push((list, FileKind::CodeList, any));
        }
    }
    Ok(out)
}

/// The kline files of a folder (named by a stock code), in code order.
pub fn kline_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| StoreError::corrupt(dir, None, format!("cannot list: {e}")))?;
    let mut files: Vec<(tierstore_model::StockCode, PathBuf)> = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| StoreError::corrupt(dir, None, format!("cannot list: {e}")))?.path();
        if let Some(Ok(code)) = klines::code_of(&path) {
            files.push((code, path));
        }
    }
    files.sort();
    Ok(files.into_iter().map(|(_, p)| p).collect())
}

/// Inspects every file of `source` that is new or changed since `before` (on all cores), and
/// returns the inspection of the whole source as it is now.
pub(crate) fn refresh(
    source: &Source,
    before: &Inspection,
    tz: chrono_tz::Tz,
    progress: &dyn Progress,
) -> Result<Inspection> {
    let files = source_files(source)?;
    let mut now = Inspection::default();
    let mut changed = Vec::new();
    for (path, kind, account) in files {
        let print = Fingerprint::of(&path)?;
        if before.files.get(&path) == Some(&print) {
            now.errors.extend(before.errors.iter().filter(|r| r.path == path).cloned());
        } else {
            changed.push((path.clone(), kind, account));
        }
        now.files.insert(path, print);
    }
    progress.stage("inspect", changed.len() as u64);
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8);
    let found: Vec<Rejected> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((path, kind, account)) = changed.get(i) else { break };
                        let report = inspect_file(path, *kind, account, tz);
                        mine.extend(report.errors.into_iter().map(|e| Rejected {
                            path: path.clone(),
                            line: e.line,
                            reason: e.reason,
                        }));
                        progress.advance(1);
                    }
                    mine
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            match h.join() {
                Ok(found) => all.extend(found),
                Err(_) => return Err(StoreError::invalid("inspection", "", "an inspection worker failed")),
            }
        }
        Ok(all)
    })?;
    progress.done();
    now.errors.extend(found);
    now.errors.sort();
    Ok(now)
}
