//! `storectl gen-legacy`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use tierstore::files::{DatasetSpec, generate};

use super::progress;

/// Arguments of `storectl gen-legacy`.
#[derive(clap::Args)]
pub struct GenLegacyArgs {
    /// Where to write (must be empty or absent): one directory per account and `_daily/`.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Accounts (strategy directories).
    #[arg(long, default_value_t = 3)]
    accounts: u32,
    /// Positions per account.
    #[arg(long, default_value_t = 30)]
    positions: u32,
    /// Journal rows per account.
    #[arg(long, default_value_t = 1000)]
    trades: u32,
    /// Stocks (kline files).
    #[arg(long, default_value_t = 100)]
    stocks: u32,
    /// Trading days (kline rows per stock; asset rows per account).
    #[arg(long, default_value_t = 250)]
    days: u32,
    /// Seed; the same seed writes the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// As on Chinese Windows: GBK journal, CRLF everywhere.
    #[arg(long)]
    windows: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// Generates the dataset and prints what it wrote.
pub fn run(args: &GenLegacyArgs) -> Result<ExitCode> {
    let spec = DatasetSpec {
        accounts: args.accounts,
        positions: args.positions,
        trades: args.trades,
        stocks: args.stocks,
        days: args.days,
        seed: args.seed,
        windows: args.windows,
    };
    let started = Instant::now();
    let bar = progress::bar(u64::from(args.stocks), "klines", args.json);
    let summary = generate(&spec, &args.out, &|| bar.inc(1))
        .with_context(|| format!("generating a dataset in {}", args.out.display()))?;
    bar.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        let t = &summary.totals;
        println!(
            "wrote {} in {:.1} s: {} accounts, positions {}, trades {}, assets {}, kline_rows {}, stocks {}",
            args.out.display(),
            started.elapsed().as_secs_f64(),
            summary.strategy_dirs.len(),
            t.positions,
            t.trades,
            t.assets,
            t.kline_rows,
            t.stocks
        );
    }
    Ok(ExitCode::SUCCESS)
}
