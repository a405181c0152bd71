//! The migration on the shared benchmark dataset (5,000 stocks × 1,250 days = 6.25 M kline
//! rows, 3 accounts × 100,000 journal rows), as `storectl` runs it, into a fresh ClickHouse
//! database, Redis namespace and SQLite warm tier:
//!
//! 1. `init`: the full inspection, the schemas, the accounts;
//! 2. `backfill`: `kline_backfill` (every kline file read, parsed and streamed into
//!    ClickHouse, with the process's peak memory during the backfill) and `trade_backfill`
//!    (the three journals), each end to end with its checkpoints; `backfill_total` with the
//!    positions, asset curves and the re-inspection of changed files;
//! 3. `verify_full`: every row of every tier compared with the files.
//!
//! `cargo xtask bench migrate` (it brings the services up). Prints a table and one JSON object
//! per line.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tierstore::Config;
use tierstore::migration::{
    self, BackfillOptions, InitOptions, Migration, ProgressHandle, Quiet, VerifyOptions,
};
use tierstore_legacy::synth::{BENCH_DATASET, bench_dataset_dir, ensure_generated};
use tierstore_testkit::bench::{peak_rss_mb, reset_peak_rss};
use tierstore_testkit::{ClickhouseDatabase, RedisNamespace};

fn main() {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let dir = bench_dataset_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    if ensure_generated(&BENCH_DATASET, &dir).expect("dataset").is_some() {
        println!("generated the dataset in {}", dir.display());
    }
    let ch = ClickhouseDatabase::create().await;
    let ns = RedisNamespace::new().await;
    let work = tempfile::tempdir().expect("temp dir");
    let toml = format!(
        "[redis]\nurl = {:?}\nnamespace = {:?}\n[clickhouse]\nurl = {:?}\ndatabase = {:?}\n\
         [warm]\nurl = {:?}\n[store]\noutbox_dir = {:?}\n",
        ns.url(),
        ns.prefix(),
        ch.url(),
        ch.name(),
        format!("sqlite://{}?mode=rwc", work.path().join("warm.db").display()),
        work.path().join("outbox").display().to_string(),
    );
    let config = Config::parse(&toml, "bench", work.path(), |_| None, work.path()).expect("config");
    let quiet: ProgressHandle = Arc::new(Quiet);
    let mut lines = Vec::new();

    let t = Instant::now();
    let init = migration::init(
        &config,
        &InitOptions { legacy_dir: dir.clone(), daily_dir: None, skip_invalid: false },
        &quiet,
    )
    .await
    .expect("init");
    let init_s = t.elapsed().as_secs_f64();
    println!("init: {} files inspected, {} accounts, {init_s:.2} s", init.files, init.accounts_created.len());
    lines.push(serde_json::json!({"bench": "init", "files": init.files, "seconds": init_s}).to_string());

    let m = Migration::open(&config).await.expect("open");
    let rss_reset = reset_peak_rss();
    let report = migration::backfill(&m, &BackfillOptions::default(), &quiet).await.expect("backfill");
    let rss = if rss_reset { peak_rss_mb() } else { None };
    let k = &report.kinds["klines"];
    let tr = &report.kinds["trades"];
    println!(
        "kline_backfill: {} rows in {:.2} s = {:.0} rows/s, peak RSS {} MB",
        k.rows,
        k.seconds,
        k.rows as f64 / k.seconds,
        rss.map_or("?".into(), |r| format!("{r:.0}"))
    );
    println!(
        "trade_backfill: {} rows in {:.2} s = {:.0} rows/s",
        tr.rows,
        tr.seconds,
        tr.rows as f64 / tr.seconds
    );
    println!("backfill_total: {:.2} s", report.seconds);
    lines.push(serde_json::json!({"bench": "kline_backfill", "rows": k.rows, "seconds": k.seconds, "rows_per_s": k.rows as f64 / k.seconds, "peak_rss_mb": rss}).to_string());
    lines.push(serde_json::json!({"bench": "trade_backfill", "rows": tr.rows, "seconds": tr.seconds, "rows_per_s": tr.rows as f64 / tr.seconds}).to_string());
    lines.push(serde_json::json!({"bench": "backfill_total", "seconds": report.seconds}).to_string());
    assert_eq!(k.rows, u64::from(BENCH_DATASET.stocks) * u64::from(BENCH_DATASET.days), "every bar copied");

    let t = Instant::now();
    let v = migration::verify(&m, &VerifyOptions::default(), &quiet).await.expect("verify");
    let secs = t.elapsed().as_secs_f64();
    let rows: u64 = v.kinds.values().map(|k| k.compared).sum();
    println!("verify_full: {rows} rows in {secs:.2} s, passed {}", v.passed);
    assert!(v.passed, "{:?}", v.differences.first());
    lines.push(serde_json::json!({"bench": "verify_full", "seconds": secs, "rows": rows}).to_string());
    // Where verify's time goes: each side alone.
    let cool = tierstore::cool::connect(&config).await.expect("cool");
    let t = Instant::now();
    let mut db_rows = 0u64;
    let mut stream = tierstore::model::KlineStore::stream_klines(&cool, None, None);
    while let Some(batch) = futures::TryStreamExt::try_next(&mut stream).await.expect("stream") {
        db_rows += batch.len() as u64;
    }
    drop(stream);
    let db_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut file_rows = 0u64;
    for path in migration::kline_files(&dir.join("_daily")).expect("files") {
        let code = tierstore_legacy::format::klines::code_of(&path).expect("code").expect("code");
        let bytes = std::fs::read(&path).expect("read");
        file_rows +=
            tierstore_legacy::format::klines::parse(&path, code, &bytes).expect("parse").rows.len() as u64;
    }
    let file_s = t.elapsed().as_secs_f64();
    println!(
        "verify sides alone: ClickHouse stream {db_rows} bars in {db_s:.2} s, file parse {file_rows} bars in {file_s:.2} s"
    );
    lines.push(serde_json::json!({"bench": "kline_stream_db", "rows": db_rows, "seconds": db_s}).to_string());
    lines.push(
        serde_json::json!({"bench": "kline_parse_files", "rows": file_rows, "seconds": file_s}).to_string(),
    );
    for l in lines {
        println!("{l}");
    }
}
