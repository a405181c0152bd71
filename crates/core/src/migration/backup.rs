//! `storectl backup` and `restore`: the warm tables, every account's positions, the trades
//! and asset curves (and, with `--klines`, the bars) written as JSON files beside a manifest
//! of row counts, sizes and SHA-256 checksums; restored only into empty engines, and only
//! after every file checked out against the manifest — a truncated or altered backup is
//! refused, naming the file, before anything is written.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, BufWriter, Read as _, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use tierstore_model::{
    AccountId, AccountPositions, AccountStore, AssetPoint, AssetStore, Kline, KlineStore, PositionStore,
    Result, StoreError, Trade, TradeQuery, TradeStore,
};
use tierstore_warm::BACKUP_TABLES;

use super::{MigrationError, ProgressHandle};
use crate::Config;

/// The manifest's name in a backup directory.
pub const MANIFEST: &str = "manifest.json";
const FORMAT: &str = "tierstore-backup 1";
const WARM: &str = "warm.json";
const POSITIONS: &str = "positions.jsonl";
const TRADES: &str = "trades.jsonl";
const ASSETS: &str = "assets.jsonl";
const KLINES: &str = "klines.jsonl";

/// One file of a backup.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackupFile {
    /// Its name in the backup directory.
    pub name: String,
    /// Rows (lines; tables' rows for the warm file).
    pub rows: u64,
    /// Bytes.
    pub bytes: u64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
}

/// The manifest: what a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// `tierstore-backup 1`.
    pub format: String,
    /// When it was taken.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Its files.
    pub files: Vec<BackupFile>,
}

/// A writer that counts and hashes what passes through.
struct Hashed<W: Write> {
    inner: W,
    hash: Sha256,
    bytes: u64,
    rows: u64,
}

impl<W: Write> Write for Hashed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn io(path: &Path, what: &str, e: &std::io::Error) -> StoreError {
    StoreError::corrupt(path, None, format!("{what}: {e}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct Out {
    path: PathBuf,
    w: Hashed<BufWriter<std::fs::File>>,
}

impl Out {
    fn create(dir: &Path, name: &str) -> Result<Out> {
        let path = dir.join(name);
        let f = std::fs::File::create(&path).map_err(|e| io(&path, "cannot create", &e))?;
        Ok(Out { w: Hashed { inner: BufWriter::new(f), hash: Sha256::new(), bytes: 0, rows: 0 }, path })
    }

    fn line<T: serde::Serialize>(&mut self, value: &T) -> Result<()> {
        serde_json::to_writer(&mut self.w, value)
            .map_err(|e| StoreError::corrupt(&self.path, None, format!("cannot write: {e}")))?;
        self.w.write_all(b"\n").map_err(|e| io(&self.path, "cannot write", &e))?;
        self.w.rows += 1;
        Ok(())
    }

    /// Writes every row of a database stream, a line each.
    async fn stream<T: serde::Serialize>(
        &mut self,
        mut rows: futures::stream::BoxStream<'_, Result<Vec<T>>>,
        progress: &dyn super::Progress,
    ) -> Result<()> {
        while let Some(chunk) = rows.try_next().await? {
            progress.advance(chunk.len() as u64);
            for row in &chunk {
                self.line(row)?;
            }
        }
        Ok(())
    }

    fn finish(self, name: &str) -> Result<BackupFile> {
        let Hashed { inner, hash, bytes, rows } = self.w;
        let f = inner.into_inner().map_err(|e| io(&self.path, "cannot write", e.error()))?;
        f.sync_all().map_err(|e| io(&self.path, "cannot sync", &e))?;
        Ok(BackupFile { name: name.to_owned(), rows, bytes, sha256: hex(&hash.finalize()) })
    }
}

/// What `backup` wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupReport {
    /// The backup directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// Seconds taken.
    pub seconds: f64,
}

/// Writes a backup into `to` (absent or empty); bars only with `klines`.
pub async fn backup(
    config: &Config,
    to: &Path,
    klines: bool,
    progress: &ProgressHandle,
) -> std::result::Result<BackupReport, MigrationError> {
    let started = Instant::now();
    let partial = super::fresh_partial(to, "backup")?;
    let warm = crate::warm::open(config).await?;
    let hot = super::connect_hot(config).await?;
    let cool = crate::cool::connect(config).await?;
    let mut files = Vec::new();

    let mut tables = BTreeMap::new();
    let mut rows = 0u64;
    for t in BACKUP_TABLES {
        let dump = warm.dump_table(t).await?;
        rows += dump.len() as u64;
        tables.insert(t.to_owned(), dump);
    }
    let mut out = Out::create(&partial, WARM)?;
    out.line(&tables)?;
    let mut f = out.finish(WARM)?;
    f.rows = rows;
    files.push(f);

    let accounts: Vec<AccountId> = warm.list_accounts(None).await?.into_iter().map(|a| a.id).collect();
    let mut out = Out::create(&partial, POSITIONS)?;
    for a in &accounts {
        match hot.account_positions(a).await {
            Ok(state) => out.line(&(a, state))?,
            // An account Redis never held has no positions to keep.
            Err(StoreError::NotSeeded { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    files.push(out.finish(POSITIONS)?);

    progress.stage("trades", 0);
    let mut out = Out::create(&partial, TRADES)?;
    let q = TradeQuery { accounts: accounts.clone(), ..Default::default() };
    out.stream(cool.stream_trades(&q), progress.as_ref()).await?;
    files.push(out.finish(TRADES)?);

    let mut out = Out::create(&partial, ASSETS)?;
    for a in &accounts {
        for p in cool.assets(a, None).await? {
            out.line(&p)?;
        }
    }
    files.push(out.finish(ASSETS)?);

    if klines {
        progress.stage("klines", 0);
        let mut out = Out::create(&partial, KLINES)?;
        out.stream(cool.stream_klines(None, None), progress.as_ref()).await?;
        files.push(out.finish(KLINES)?);
    }
    progress.done();
    let manifest = Manifest { format: FORMAT.to_owned(), created_at: chrono::Utc::now(), files };
    let text = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| StoreError::invalid("manifest", "", e.to_string()))?;
    let path = partial.join(MANIFEST);
    std::fs::write(&path, text).map_err(|e| io(&path, "cannot write", &e))?;
    if to.exists() {
        std::fs::remove_dir(to).map_err(|e| io(to, "cannot replace the empty directory", &e))?;
    }
    std::fs::rename(&partial, to).map_err(|e| io(to, "cannot move the backup into place", &e))?;
    Ok(BackupReport { dir: to.to_path_buf(), manifest, seconds: started.elapsed().as_secs_f64() })
}

/// What `restore` wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RestoreReport {
    /// Rows restored per file.
    pub rows: BTreeMap<String, u64>,
    /// Seconds taken.
    pub seconds: f64,
}

/// Reads and checks the manifest and every file it names (size, then SHA-256): the first
/// that does not check out is named in the error.
pub fn check_backup(from: &Path) -> std::result::Result<Manifest, MigrationError> {
    let path = from.join(MANIFEST);
    let bytes = std::fs::read(&path).map_err(|e| io(&path, "cannot read the manifest", &e))?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
        StoreError::corrupt(&path, Some(e.line() as u64), format!("not a backup manifest: {e}"))
    })?;
    if manifest.format != FORMAT {
        return Err(StoreError::corrupt(
            &path,
            None,
            format!("format {:?}, expected {FORMAT:?}", manifest.format),
        )
        .into());
    }
    for name in [WARM, POSITIONS, TRADES, ASSETS] {
        if !manifest.files.iter().any(|f| f.name == name) {
            return Err(StoreError::corrupt(
                &path,
                None,
                format!("does not list {name}, which every backup has"),
            )
            .into());
        }
    }
    for f in &manifest.files {
        if ![WARM, POSITIONS, TRADES, ASSETS, KLINES].contains(&f.name.as_str()) {
            return Err(
                StoreError::corrupt(&path, None, format!("names an unknown file {:?}", f.name)).into()
            );
        }
        let p = from.join(&f.name);
        let len = std::fs::metadata(&p).map_err(|e| io(&p, "cannot open a file of the backup", &e))?.len();
        if len != f.bytes {
            return Err(StoreError::corrupt(
                &p,
                None,
                format!(
                    "is {len} bytes, the manifest says {}: truncated or altered; nothing was restored",
                    f.bytes
                ),
            )
            .into());
        }
        let mut hash = Sha256::new();
        let mut lines = 0u64;
        let mut file = std::fs::File::open(&p).map_err(|e| io(&p, "cannot open", &e))?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buf).map_err(|e| io(&p, "cannot read", &e))?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        }
        let got = hex(&hash.finalize());
        if got != f.sha256 {
            return Err(StoreError::corrupt(
                &p,
                None,
                format!("SHA-256 {got} differs from the manifest's {}: the file was altered; nothing was restored", f.sha256),
            )
            .into());
        }
        if f.name != WARM && lines != f.rows {
            return Err(StoreError::corrupt(
                &p,
                None,
                format!("holds {lines} rows, the manifest says {}; nothing was restored", f.rows),
            )
            .into());
        }
    }
    Ok(manifest)
}

/// Reads a JSON-lines file of the backup, calling `each` with chunks of `n` rows.
async fn each_line<T: serde::de::DeserializeOwned>(
    path: &Path,
    n: usize,
    mut each: impl AsyncFnMut(Vec<T>) -> Result<()>,
) -> Result<u64> {
    let file = std::fs::File::open(path).map_err(|e| io(path, "cannot open", &e))?;
    let mut rows = 0u64;
    let mut chunk = Vec::with_capacity(n);
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| io(path, "cannot read", &e))?;
        let v: T = serde_json::from_str(&line).map_err(|e| {
            StoreError::corrupt(path, Some(i as u64 + 1), format!("not a row of this backup: {e}"))
        })?;
        chunk.push(v);
        rows += 1;
        if chunk.len() == n {
            each(std::mem::take(&mut chunk)).await?;
        }
    }
    if !chunk.is_empty() {
        each(chunk).await?;
    }
    Ok(rows)
}

/// Restores a backup into empty engines (schemas created as needed): refused before anything
/// is written if a file does not match the manifest or an engine holds data.
pub async fn restore(config: &Config, from: &Path) -> std::result::Result<RestoreReport, MigrationError> {
    let started = Instant::now();
    let manifest = {
        let from = from.to_path_buf();
        super::blocking(move || {
            check_backup(&from).map_err(|e| match e {
                MigrationError::Store(s) => s,
                other => StoreError::invalid("backup", from.display().to_string(), other.to_string()),
            })
        })
        .await?
    };
    let has = |name: &str| manifest.files.iter().any(|f| f.name == name);
    let warm_conn = crate::warm::connect(config).await?;
    warm_conn.schema_up(None).await?;
    let warm = crate::warm::open(config).await?;
    let cool = crate::cool::connect(config).await?;
    cool.schema_up().await?;
    let hot = super::connect_hot(config).await?;
    if let Some(t) = warm.first_nonempty_table().await? {
        return Err(MigrationError::Refused(format!(
            "the warm tier holds data (table {t}); restore writes only into empty engines"
        )));
    }
    if hot.namespace_status().await? != tierstore_hot::NamespaceStatus::Missing {
        return Err(MigrationError::Refused(
            "Redis holds this namespace already; restore writes only into empty engines".into(),
        ));
    }
    let warm_path = from.join(WARM);
    let text = std::fs::read_to_string(&warm_path).map_err(|e| io(&warm_path, "cannot read", &e))?;
    let tables: BTreeMap<String, Vec<serde_json::Value>> = serde_json::from_str(text.trim_end())
        .map_err(|e| StoreError::corrupt(&warm_path, Some(1), format!("not the warm tables: {e}")))?;
    let one = TradeQuery { limit: Some(1), ..Default::default() };
    if !cool.trades(&one).await?.is_empty() || !cool.kline_codes().await?.is_empty() {
        return Err(MigrationError::Refused(
            "ClickHouse holds trades or bars; restore writes only into empty engines".into(),
        ));
    }
    for row in tables.get("accounts").map(Vec::as_slice).unwrap_or_default() {
        let Some(id) = row.get("id").and_then(|v| v.as_str()) else { continue };
        let id = AccountId::new(id).map_err(|e| e.at(&warm_path, 1))?;
        if !cool.assets(&id, None).await?.is_empty() {
            return Err(MigrationError::Refused(format!(
                "ClickHouse holds asset points of {id}; restore writes only into empty engines"
            )));
        }
    }

    let mut rows = BTreeMap::new();
    rows.insert(WARM.to_owned(), warm.restore_tables(&tables).await?);

    let mut states: Vec<(AccountId, AccountPositions)> = Vec::new();
    let n = each_line(&from.join(POSITIONS), 1000, async |chunk: Vec<(AccountId, AccountPositions)>| {
        states.extend(chunk);
        Ok(())
    })
    .await?;
    if !states.is_empty() {
        hot.rehydrate(&states).await?;
    }
    rows.insert(POSITIONS.to_owned(), n);
    let n = each_line(&from.join(TRADES), 50_000, async |chunk: Vec<Trade>| {
        cool.append_trades(&chunk).await.map(|_| ())
    })
    .await?;
    rows.insert(TRADES.to_owned(), n);
    let n = each_line(&from.join(ASSETS), 10_000, async |chunk: Vec<AssetPoint>| {
        cool.record_assets(&chunk).await.map(|_| ())
    })
    .await?;
    rows.insert(ASSETS.to_owned(), n);
    if has(KLINES) {
        let mut writer = cool.kline_writer(tierstore_cool::DEFAULT_BATCH_ROWS)?;
        let n = each_line(&from.join(KLINES), 10_000, async |chunk: Vec<Kline>| {
            for k in chunk {
                writer.write(k).await?;
            }
            Ok(())
        })
        .await?;
        writer.finish().await?;
        rows.insert(KLINES.to_owned(), n);
    }
    Ok(RestoreReport { rows, seconds: started.elapsed().as_secs_f64() })
}
