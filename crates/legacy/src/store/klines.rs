//! `KlineStore` on the kline folder, one `<code>.csv` per stock: a write merges bars by date
//! into each file and rewrites it atomically in the file's own spelling.

use std::collections::BTreeMap;
use std::path::Path;

use async_trait::async_trait;
use futures::stream::BoxStream;
use tierstore_model::{DateRange, Kline, KlineBatch, KlineRange, KlineStore, Result, StockCode};

use super::{LegacyStore, blocking, failed, spawn_stream};
use crate::format::klines::{self, KlineLayout};
use crate::fsio::{self, DirLock};

/// The bars of one file, strictly (a bad row is an error); empty if there is no file.
fn read_kline_file(path: &Path, code: StockCode) -> Result<Vec<Kline>> {
    let Some(file) = fsio::read_parsed(path, |b| klines::parse(path, code, b))? else {
        return Ok(Vec::new());
    };
    match file.first_error() {
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
                        if let Some(e) = f.first_error() {
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
            Err(e) => return failed(e),
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
