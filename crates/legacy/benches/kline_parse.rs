//! Kline parsing throughput on the full generated dataset (5,000 stocks × 1,250 days =
//! 6.25 M rows), one core: read each file and parse and validate every row, as a migration
//! does. Also times the generator that writes the dataset.
//!
//! `cargo xtask bench legacy`. The dataset is kept in `target/bench-data/` (or
//! `$TIERSTORE_BENCH_DATA`) and generated on first use. Prints a table and one JSON object
//! per line: `{"bench": NAME, "p50_us": X, "p99_us": Y, "n": N, ...}`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tierstore_legacy::format::klines;
use tierstore_legacy::synth::{BENCH_DATASET, bench_dataset_dir, ensure_generated};

const PASSES: usize = 3;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let dir = bench_dataset_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let (stocks, days) = (BENCH_DATASET.stocks, BENCH_DATASET.days);
    let started = Instant::now();
    if let Some(summary) = ensure_generated(&BENCH_DATASET, &dir).expect("generating the dataset") {
        let took = started.elapsed();
        let rows = summary.totals.kline_rows;
        println!(
            "gen_legacy: {stocks} stocks x {days} days = {rows} kline rows (+ 3 x 100,000 trades) in {:.2} s ({:.2} M rows/s, {} threads)",
            took.as_secs_f64(),
            rows as f64 / took.as_secs_f64() / 1e6,
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        );
        println!(
            "{}",
            serde_json::json!({"bench": "gen_legacy", "seconds": took.as_secs_f64(), "rows": rows, "rows_per_s": rows as f64 / took.as_secs_f64()})
        );
    }

    let daily = dir.join("_daily");
    let mut files: Vec<(PathBuf, tierstore_model::StockCode)> = std::fs::read_dir(&daily)
        .expect("kline folder")
        .filter_map(|e| {
            let p = e.ok()?.path();
            let code = klines::code_of(&p)?.ok()?;
            Some((p, code))
        })
        .collect();
    files.sort();

    println!("\nkline_parse: {} files, one core, read + parse + validate every row", files.len());
    println!(
        "{:>6} {:>12} {:>10} {:>14} {:>12} {:>12}",
        "pass", "rows", "seconds", "rows/s", "file p50", "file p99"
    );
    let mut best_rate = 0.0f64;
    let mut last_latencies = Vec::new();
    let mut total_rows = 0u64;
    for pass in 1..=PASSES {
        let mut latencies = Vec::with_capacity(files.len());
        let mut rows = 0u64;
        let started = Instant::now();
        for (path, code) in &files {
            let t = Instant::now();
            let bytes = std::fs::read(path).expect("read");
            let parsed = klines::parse(path, *code, &bytes).expect("parse");
            assert!(parsed.errors.is_empty(), "{}: {:?}", path.display(), parsed.errors.first());
            rows += parsed.rows.len() as u64;
            latencies.push(t.elapsed());
        }
        let took = started.elapsed();
        let rate = rows as f64 / took.as_secs_f64();
        latencies.sort();
        println!(
            "{pass:>6} {rows:>12} {:>10.3} {:>14.0} {:>10.0}us {:>10.0}us",
            took.as_secs_f64(),
            rate,
            percentile(&latencies, 0.5).as_secs_f64() * 1e6,
            percentile(&latencies, 0.99).as_secs_f64() * 1e6
        );
        best_rate = best_rate.max(rate);
        last_latencies = latencies;
        total_rows = rows;
    }
    println!("best: {:.2} M rows/s (goal: >= 2 M rows/s on one core)", best_rate / 1e6);
    println!(
        "{}",
        serde_json::json!({
            "bench": "kline_parse",
            "p50_us": percentile(&last_latencies, 0.5).as_secs_f64() * 1e6,
            "p99_us": percentile(&last_latencies, 0.99).as_secs_f64() * 1e6,
            "n": last_latencies.len(),
            "rows": total_rows,
            "rows_per_s": best_rate,
        })
    );
}
