//! `storectl export`: the databases written back out as a SilverQuant cache — positions from
//! Redis, journals, asset curves and klines from ClickHouse — spelt as `init` found the source
//! files (see `formats`), so a cache the Python program wrote comes back byte for byte. Files
//! of accounts or stocks no source spelt follow the configured platform.
//!
//! The cache is written into a sibling directory and renamed into place at the end, so a
//! failed export leaves no half-written cache where the Python program might look.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures::TryStreamExt;
use tierstore_legacy::format::assets::{ASSETS, AssetFile};
use tierstore_legacy::format::code_list::CODE_LIST;
use tierstore_legacy::format::encoding::{BOM, Encoding};
use tierstore_legacy::format::journal::{self, DEALS, HEADER, JournalLayout};
use tierstore_legacy::format::klines::{self, KlineLayout};
use tierstore_legacy::format::positions::{HELD_DAYS, JsonDoc, MAX_PRICE, MIN_PRICE, PositionDocs};
use tierstore_model::{
    AccountId, AccountStore, AssetStore, Kline, KlineStore, PositionStore, Result, StockCode, StoreError,
    TradeQuery, TradeStore,
};

use super::formats::{AccountFormats, Formats};
use super::{Migration, MigrationError, ProgressHandle};

/// What `export` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportReport {
    /// The cache written.
    pub dir: PathBuf,
    /// Files written.
    pub files: u64,
    /// Rows written per kind.
    pub rows: BTreeMap<&'static str, u64>,
    /// Seconds taken.
    pub seconds: f64,
}

fn io(path: &Path, what: &str, e: &std::io::Error) -> StoreError {
    StoreError::corrupt(path, None, format!("{what}: {e}"))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, "cannot create", &e))?;
    }
    let mut f = std::fs::File::create(path).map_err(|e| io(path, "cannot create", &e))?;
    f.write_all(bytes).map_err(|e| io(path, "cannot write", &e))?;
    f.sync_all().map_err(|e| io(path, "cannot sync", &e))
}

/// Writes the cache into `to`, which must not exist or be empty.
pub async fn export(
    m: &Migration,
    to: &Path,
    progress: &ProgressHandle,
) -> Result<ExportReport, MigrationError> {
    let started = Instant::now();
    let partial = super::fresh_partial(to, "export")?;

    let formats = Formats::recorded(&m.warm).await?;
    let hot = super::connect_hot(&m.config).await?;
    let cool = crate::cool::connect(&m.config).await?;
    let mut accounts: BTreeSet<AccountId> = m.source.accounts.keys().cloned().collect();
    accounts.extend(m.warm.list_accounts(None).await?.into_iter().map(|a| a.id));
    let mut rows: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut files = 0u64;
    let platform = m.config.legacy.platform;
    let tz = m.config.timezone;

    for account in &accounts {
        let dir = partial.join(account.as_str());
        let none = AccountFormats::default();
        let f = formats.accounts.get(account).unwrap_or(&none);
        // Positions: the source's documents with Redis's values.
        let state = hot.account_positions(account).await?;
        let doc = |text: &Option<String>, name: &str| -> Result<JsonDoc> {
            match text {
                Some(t) => JsonDoc::parse(&dir.join(name), t.as_bytes()),
                None => Ok(JsonDoc::empty(dir.join(name), platform.text_eol())),
            }
        };
        let mut docs = PositionDocs::new(
            doc(&f.held_days, HELD_DAYS)?,
            doc(&f.max_price, MAX_PRICE)?,
            doc(&f.min_price, MIN_PRICE)?,
            m.config.legacy.held_days_format,
        )?;
        docs.replace(&state)?;
        for (d, had) in [(&docs.held, &f.held_days), (&docs.max, &f.max_price), (&docs.min, &f.min_price)] {
            if had.is_some() || d.codes().next().is_some() {
                write_file(&d.path, &d.render())?;
                files += 1;
            }
        }
        *rows.entry("positions").or_default() += state.positions.len() as u64;

        // The journal, in ordinal order.
        let q = TradeQuery { accounts: vec![account.clone()], ..Default::default() };
        // The source's spelling, else the platform's (and csv.writer's CRLF rows).
        let layout = match &f.journal {
            Some(j) => j.layout()?,
            None => JournalLayout {
                encoding: platform.journal_encoding(),
                header_eol: platform.text_eol(),
                row_eol: tierstore_legacy::format::encoding::Eol::Crlf,
                terminated: true,
            },
        };
        let mut stream = cool.stream_trades(&q);
        let mut out: Option<std::io::BufWriter<std::fs::File>> = None;
        let path = dir.join(DEALS);
        let mut n = 0u64;
        loop {
            let chunk = stream.try_next().await?;
            if out.is_none() && (chunk.is_some() || f.journal.is_some()) {
                let l = layout;
                std::fs::create_dir_all(&dir).map_err(|e| io(&dir, "cannot create", &e))?;
                let mut w = std::io::BufWriter::new(
                    std::fs::File::create(&path).map_err(|e| io(&path, "cannot create", &e))?,
                );
                let mut header = String::new();
                tierstore_legacy::format::pycsv::push_row(&mut header, HEADER);
                header.push_str(l.header_eol.as_str());
                if l.encoding == Encoding::Utf8Bom {
                    w.write_all(BOM).map_err(|e| io(&path, "cannot write", &e))?;
                }
                w.write_all(&l.encoding.encode("header", &header)?)
                    .map_err(|e| io(&path, "cannot write", &e))?;
                out = Some(w);
                files += 1;
            }
            let Some(chunk) = chunk else { break };
            let bytes =
                journal::render_append(&path, &chunk, Some(layout), layout.encoding, layout.header_eol, &tz)?;
            if let Some(w) = out.as_mut() {
                w.write_all(&bytes).map_err(|e| io(&path, "cannot write", &e))?;
            }
            n += chunk.len() as u64;
            progress.advance(chunk.len() as u64);
        }
        if let Some(w) = out {
            let f = w.into_inner().map_err(|e| io(&path, "cannot write", e.error()))?;
            f.sync_all().map_err(|e| io(&path, "cannot sync", &e))?;
        }
        *rows.entry("trades").or_default() += n;

        // The asset curve.
        let points = cool.assets(account, None).await?;
        if f.assets.is_some() || !points.is_empty() {
            let (eol, bom) = match &f.assets {
                Some(a) => (a.eol()?, a.bom()),
                None => (platform.text_eol(), false),
            };
            let file = AssetFile::spelt(points, eol, bom);
            write_file(&dir.join(ASSETS), &file.render())?;
            files += 1;
            *rows.entry("assets").or_default() += file.points.len() as u64;
        }
    }

    // Klines, one file per code, in the layout the source had.
    let daily = partial.join("_daily");
    let mut klines_written = 0u64;
    let mut stream = cool.stream_klines(None, None);
    let mut current: Option<(StockCode, Vec<Kline>)> = None;
    let flush = |code: StockCode, bars: Vec<Kline>, files: &mut u64| -> Result<()> {
        let layout = match formats.kline(&code) {
            Some(f) => f.layout()?,
            None => KlineLayout::pandas(platform.text_eol()),
        };
        write_file(&klines::path_of(&daily, &code), &klines::render(&bars, layout))?;
        *files += 1;
        Ok(())
    };
    while let Some(batch) = stream.try_next().await? {
        klines_written += batch.len() as u64;
        progress.advance(batch.len() as u64);
        for bar in batch {
            match &mut current {
                Some((code, bars)) if *code == bar.code => bars.push(bar),
                _ => {
                    if let Some((code, bars)) = current.take() {
                        flush(code, bars, &mut files)?;
                    }
                    current = Some((bar.code, vec![bar]));
                }
            }
        }
    }
    if let Some((code, bars)) = current.take() {
        flush(code, bars, &mut files)?;
    }
    if let Some(list) = &formats.code_list {
        write_file(&daily.join(CODE_LIST), list.as_bytes())?;
        files += 1;
    }
    rows.insert("klines", klines_written);
    if to.exists() {
        std::fs::remove_dir(to).map_err(|e| io(to, "cannot replace the empty directory", &e))?;
    }
    std::fs::rename(&partial, to).map_err(|e| io(to, "cannot move the export into place", &e))?;
    Ok(ExportReport { dir: to.to_path_buf(), files, rows, seconds: started.elapsed().as_secs_f64() })
}
