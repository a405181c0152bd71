//! The cool tier on the shared benchmark dataset (6.25 M kline rows, 3 × 100,000 trades):
//!
//! 1. `kline_insert`: every kline file parsed (one thread) and streamed through the bulk
//!    writer, end to end, with the process's peak memory;
//! 2. `kline_storage`: bytes per row on disk after merging, and the ratio to the CSV folder;
//! 3. `trade_insert`: the three journals streamed into the trade table;
//! 4. the same data written a second time without OPTIMIZE, so the reads below pay for
//!    deduplication (FINAL) as production does between merges;
//! 5. latencies: `kline_range_60`, `kline_last_60`, `kline_batch_100` (100 codes, last 60),
//!    `trades_year` (one account, one year), `trades_agg_month` (one account, three years, by
//!    month with realised profit), `cross_account` (every account's statistics for a year, one
//!    query).
//!
//! `cargo xtask bench cool` (it brings ClickHouse up and sets TIERSTORE_TEST_CLICKHOUSE_URL).
//! Prints a table and one JSON object per line.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use tierstore::cool::{CoolConfig, CoolStore};
use tierstore::model::{
    AccountId, DateRange, Kline, KlineRange, KlineStore, Period, SecretUrl, StockCode, TradeDate, TradeQuery,
    TradeStore,
};
use tierstore_legacy::format::klines;
use tierstore_legacy::synth::{BENCH_DATASET, bench_dataset_dir, ensure_generated};
use tierstore_legacy::{LegacyConfig, LegacyStore};
use tierstore_testkit::ClickhouseDatabase;
use tierstore_testkit::bench::{latency_line, measure, peak_rss_mb, percentile, reset_peak_rss};

/// Latency samples per query bench.
const SAMPLES: usize = 300;

fn main() {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(run());
}

/// A small deterministic generator for picking codes.
struct Picks(u64);

impl Picks {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn kline_files(daily: &Path) -> Vec<(PathBuf, StockCode)> {
    let mut files: Vec<(PathBuf, StockCode)> = std::fs::read_dir(daily)
        .expect("kline folder")
        .filter_map(|e| {
            let p = e.ok()?.path();
            let code = klines::code_of(&p)?.ok()?;
            Some((p, code))
        })
        .collect();
    files.sort();
    files
}

/// Parses every file on one thread and streams the bars through the bulk writer; returns
/// (rows, seconds).
async fn insert_klines(store: &CoolStore, files: &[(PathBuf, StockCode)], batch_rows: usize) -> (u64, f64) {
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Kline>>(16);
    let files = files.to_vec();
    let parser = std::thread::spawn(move || {
        for (path, code) in files {
            let bytes = std::fs::read(&path).expect("read");
            let parsed = klines::parse(&path, code, &bytes).expect("parse");
            assert!(parsed.errors.is_empty(), "{}: {:?}", path.display(), parsed.errors.first());
            if tx.blocking_send(parsed.rows).is_err() {
                return;
            }
        }
    });
    let mut writer = store.kline_writer(batch_rows).expect("writer");
    while let Some(bars) = rx.recv().await {
        for bar in bars {
            writer.write(bar).await.expect("write");
        }
    }
    let rows = writer.finish().await.expect("finish");
    parser.join().expect("parser");
    (rows, started.elapsed().as_secs_f64())
}

/// Streams every journal into the trade table; returns (rows, seconds).
async fn insert_trades(store: &CoolStore, legacy: &LegacyStore) -> (u64, f64) {
    let started = Instant::now();
    let mut rows = 0u64;
    let all = TradeQuery::default();
    let mut chunks = legacy.stream_trades(&all);
    while let Some(chunk) = chunks.try_next().await.expect("journal") {
        rows += store.append_trades(&chunk).await.expect("append").len() as u64;
    }
    (rows, started.elapsed().as_secs_f64())
}

async fn run() {
    let dir = bench_dataset_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    if ensure_generated(&BENCH_DATASET, &dir).expect("dataset").is_some() {
        println!("generated the dataset in {}", dir.display());
    }
    let daily = dir.join("_daily");
    let files = kline_files(&daily);
    let mut accounts = std::collections::BTreeMap::new();
    for e in std::fs::read_dir(&dir).expect("dataset") {
        let path = e.expect("entry").path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if path.is_dir() && !name.starts_with(['_', '.']) {
            accounts.insert(AccountId::new(&name).expect("account"), path);
        }
    }
    assert_eq!(accounts.len(), BENCH_DATASET.accounts as usize, "accounts in {}", dir.display());
    let legacy =
        LegacyStore::open(LegacyConfig::new(accounts.clone(), Some(daily.clone()))).await.expect("legacy");

    let db = ClickhouseDatabase::create().await;
    let mut config = CoolConfig::new(SecretUrl::parse("clickhouse.url", db.url()).expect("url"));
    config.database = db.name().to_owned();
    config.timeout_ms = 120_000;
    // Knobs for trying a layout or a transport: the figures are for the defaults.
    if std::env::var("TIERSTORE_BENCH_WIRE").as_deref() == Ok("none") {
        config.compression = tierstore::cool::WireCompression::None;
    }
    let batch_rows: usize = std::env::var("TIERSTORE_BENCH_BATCH")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(tierstore::cool::DEFAULT_BATCH_ROWS);
    let only_insert = std::env::var_os("TIERSTORE_BENCH_ONLY_INSERT").is_some();
    let store = CoolStore::connect(config.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}\nrun `cargo xtask bench cool`"));
    store.schema_up().await.expect("schema");
    let v = store.server_version();
    println!("ClickHouse {}.{} · {} kline files · database {}", v.major, v.minor, files.len(), db.name());

    let mut lines = Vec::new();
    reset_peak_rss();
    let (rows, secs) = insert_klines(&store, &files, batch_rows).await;
    let rss = peak_rss_mb().unwrap_or(f64::NAN);
    println!(
        "kline_insert: {rows} rows in {secs:.2} s = {:.0} rows/s, peak RSS {rss:.0} MB",
        rows as f64 / secs
    );
    lines.push(serde_json::json!({"bench": "kline_insert", "rows": rows, "seconds": secs, "rows_per_s": rows as f64 / secs, "peak_rss_mb": rss}).to_string());

    if only_insert {
        for l in lines {
            println!("{l}");
        }
        keep_if_asked(db);
        return;
    }
    db.execute(&format!("OPTIMIZE TABLE {}.klines FINAL", db.name())).await;
    let report = tierstore::kline_storage(&store, Some(&daily)).await.expect("storage");
    println!(
        "kline_storage: {} rows, {} bytes on disk = {:.2} B/row; CSV {:.2} B/row; ratio {:.2}:1",
        report.table.rows,
        report.table.bytes_on_disk,
        report.bytes_per_row.unwrap_or(f64::NAN),
        report.csv_bytes_per_row.unwrap_or(f64::NAN),
        report.ratio.unwrap_or(f64::NAN)
    );
    for c in &report.table.columns {
        println!(
            "  {:<10} {:>6.2} B/row",
            c.name,
            c.compressed_bytes as f64 / report.table.rows.max(1) as f64
        );
    }
    lines.push(serde_json::json!({"bench": "kline_storage", "rows": report.table.rows, "bytes_on_disk": report.table.bytes_on_disk, "bytes_per_row": report.bytes_per_row, "csv_bytes_per_row": report.csv_bytes_per_row, "ratio": report.ratio}).to_string());

    let (trows, tsecs) = insert_trades(&store, &legacy).await;
    println!("trade_insert: {trows} rows in {tsecs:.2} s = {:.0} rows/s", trows as f64 / tsecs);
    lines.push(serde_json::json!({"bench": "trade_insert", "rows": trows, "seconds": tsecs, "rows_per_s": trows as f64 / tsecs}).to_string());

    // Everything again, without OPTIMIZE: the reads below pay for deduplication (FINAL over
    // the parts that hold copies), as in production between merges.
    let (rows2, secs2) = insert_klines(&store, &files, batch_rows).await;
    let (trows2, _) = insert_trades(&store, &legacy).await;
    println!("second write: {rows2} bars in {secs2:.2} s, {trows2} trades; no OPTIMIZE");
    // The server's background merges, which the second write set off, are let finish so they
    // do not compete with the reads for the two cores; what they leave is reported.
    let settled = Instant::now();
    let mut quiet = 0;
    while quiet < 3 && settled.elapsed() < Duration::from_secs(300) {
        let running =
            db.number(&format!("SELECT count() FROM system.merges WHERE database = '{}'", db.name())).await;
        quiet = if running == 0 { quiet + 1 } else { 0 };
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    for table in ["klines", "trades"] {
        let t = store.storage(table).await.expect("storage");
        println!(
            "{table}: {} physical rows in {} parts after {:.0} s of background merges",
            t.rows,
            t.parts,
            settled.elapsed().as_secs_f64()
        );
    }

    let spans = store.kline_spans().await.expect("spans");
    let codes: Vec<StockCode> = spans.iter().map(|s| s.code).collect();
    let last_day = spans.iter().map(|s| s.last).max().expect("bars");
    let first_day = spans.iter().map(|s| s.first).min().expect("bars");
    let days_back = |n: u16| {
        TradeDate::from_days_since_epoch(
            last_day.days_since_epoch().saturating_sub(n).max(first_day.days_since_epoch()),
        )
        .expect("date")
    };
    let mut picks = Picks(0x9e37_79b9_7f4a_7c15);
    let mut results: Vec<(&str, Vec<Duration>, String)> = Vec::new();

    // 60 trading days are about 87 calendar days.
    let window = DateRange::new(days_back(87 + 200), days_back(200)).expect("range");
    let t = measure(20, SAMPLES, |_| {
        let code = codes[picks.next(codes.len())];
        let store = &store;
        async move {
            let bars = store.klines(&code, KlineRange::Dates(window)).await.expect("range");
            assert!((55..=65).contains(&bars.len()), "{} bars", bars.len());
        }
    })
    .await;
    results.push(("kline_range_60", t, "one code, 60 trading days".into()));

    let t = measure(20, SAMPLES, |_| {
        let code = codes[picks.next(codes.len())];
        let store = &store;
        async move {
            assert_eq!(store.klines(&code, KlineRange::last(60).expect("n")).await.expect("last").len(), 60);
        }
    })
    .await;
    results.push(("kline_last_60", t, "one code, last 60 bars".into()));

    let t = measure(5, SAMPLES / 3, |_| {
        let start = picks.next(codes.len() - 100);
        let batch = codes[start..start + 100].to_vec();
        let store = &store;
        async move {
            let got = store.klines_of(&batch, KlineRange::last(60).expect("n")).await.expect("batch");
            assert!(got.values().all(|b| b.len() == 60));
        }
    })
    .await;
    results.push(("kline_batch_100", t, "100 codes, last 60 bars each".into()));

    let account = accounts.keys().next().expect("an account").clone();
    let year = DateRange::new(days_back(365), last_day).expect("year");
    let one_year = TradeQuery { accounts: vec![account.clone()], dates: Some(year), ..Default::default() };
    let year_rows = store.trades(&one_year).await.expect("year").len();
    let t = measure(5, SAMPLES / 3, |_| {
        let store = &store;
        let q = &one_year;
        async move {
            assert_eq!(store.trades(q).await.expect("year").len(), year_rows);
        }
    })
    .await;
    results.push(("trades_year", t, format!("one account, one year: {year_rows} rows")));

    let three_years = TradeQuery {
        accounts: vec![account.clone()],
        dates: Some(DateRange::new(days_back(3 * 365), last_day).expect("range")),
        ..Default::default()
    };
    let months = store.summarise_trades(&three_years, Period::Month).await.expect("months").len();
    let t = measure(3, SAMPLES / 6, |_| {
        let store = &store;
        let q = &three_years;
        async move {
            assert_eq!(store.summarise_trades(q, Period::Month).await.expect("months").len(), months);
        }
    })
    .await;
    results.push((
        "trades_agg_month",
        t,
        format!("one account, three years: {months} months with realised profit"),
    ));

    let every = TradeQuery { dates: Some(year), ..Default::default() };
    let n_accounts = accounts.len();
    let t = measure(5, SAMPLES / 3, |_| {
        let store = &store;
        let q = &every;
        async move {
            assert_eq!(store.account_stats(q).await.expect("stats").len(), n_accounts);
        }
    })
    .await;
    results.push(("cross_account", t, format!("{} accounts, one year, one query", accounts.len())));

    println!("\n{:<18} {:>10} {:>10} {:>6}  what", "bench", "p50", "p99", "n");
    for (name, t, what) in &results {
        println!(
            "{name:<18} {:>8.2}ms {:>8.2}ms {:>6}  {what}",
            percentile(t, 0.5).as_secs_f64() * 1e3,
            percentile(t, 0.99).as_secs_f64() * 1e3,
            t.len()
        );
        lines.push(latency_line(name, t));
    }
    println!();
    for l in lines {
        println!("{l}");
    }
    keep_if_asked(db);
}

/// TIERSTORE_BENCH_KEEP=1 leaves the loaded database behind, for trying layouts and queries
/// on it by hand (drop it with DROP DATABASE).
fn keep_if_asked(db: ClickhouseDatabase) {
    if std::env::var_os("TIERSTORE_BENCH_KEEP").is_some() {
        println!("kept database {}", db.name());
        std::mem::forget(db);
    }
}
