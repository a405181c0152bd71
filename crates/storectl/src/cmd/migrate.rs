//! `storectl migrate` (init, backfill, switch, status), `storectl rollback` and
//! `storectl verify`: thin shells over `tierstore::migration`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use indicatif::ProgressBar;
use tierstore::migration::{
    self, BackfillOptions, InitOptions, Migration, MigrationError, Progress, ProgressHandle, VerifyOptions,
    VerifyScope,
};
use tierstore_model::StorageMode;

use super::progress;

/// Arguments of `storectl migrate`.
#[derive(clap::Args)]
pub struct MigrateArgs {
    #[command(subcommand)]
    command: MigrateCommand,
}

#[derive(clap::Subcommand)]
enum MigrateCommand {
    /// Phase 1: inspect the legacy files, create the schemas, an account per strategy
    /// directory, and record where the files are. Changes nothing the Python program reads.
    Init(InitArgs),
    /// Copy the files' history into Redis and ClickHouse; resumable (run it again after any
    /// interruption) and safe while the Python program appends to its journals.
    Backfill(BackfillArgs),
    /// Move the phase forward: dual_write, then db_first (which needs a passing full verify).
    Switch(SwitchArgs),
    /// Phase, history, checkpoints, outbox depth, last backfill and verify.
    Status(StatusArgs),
}

#[derive(clap::Args)]
struct InitArgs {
    /// The SilverQuant cache root (strategy directories and `_daily`), or one strategy directory.
    #[arg(long, value_name = "DIR")]
    legacy_dir: PathBuf,
    /// The kline folder, if not `<DIR>/_daily`.
    #[arg(long, value_name = "DIR")]
    daily_dir: Option<PathBuf>,
    /// Migrate around unreadable rows, listing them as rejected, instead of refusing.
    #[arg(long)]
    skip_invalid: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct BackfillArgs {
    /// Migrate around unreadable rows, listing them as rejected, instead of refusing.
    #[arg(long)]
    skip_invalid: bool,
    /// Forget the checkpoints and copy everything again (nothing is doubled).
    #[arg(long)]
    restart: bool,
    /// Bars per ClickHouse insert.
    #[arg(long, default_value_t = tierstore::cool::DEFAULT_BATCH_ROWS)]
    kline_batch_rows: usize,
    /// Journal rows per ClickHouse insert (and per checkpoint).
    #[arg(long, default_value_t = tierstore::migration::DEFAULT_TRADE_BATCH_ROWS)]
    trade_batch_rows: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct SwitchArgs {
    /// `dual_write` or `db_first`.
    phase: StorageMode,
    /// Who switches (default: $USER).
    #[arg(long)]
    by: Option<String>,
    /// Why.
    #[arg(long, default_value = "")]
    note: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct StatusArgs {
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `storectl rollback`.
#[derive(clap::Args)]
pub struct RollbackArgs {
    /// The phase to go back to.
    #[arg(long, default_value = "file")]
    to: StorageMode,
    /// Who rolls back (default: $USER).
    #[arg(long)]
    by: Option<String>,
    /// Why.
    #[arg(long, default_value = "")]
    note: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `storectl export`.
#[derive(clap::Args)]
pub struct ExportArgs {
    /// Where to write the cache (absent or empty).
    #[arg(long, value_name = "DIR")]
    to: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `storectl import`.
#[derive(clap::Args)]
pub struct ImportArgs {
    /// The SilverQuant cache to import (strategy directories and `_daily`).
    #[arg(long, value_name = "DIR")]
    from: PathBuf,
    /// The kline folder, if not `<DIR>/_daily`.
    #[arg(long, value_name = "DIR")]
    daily_dir: Option<PathBuf>,
    /// Import around unreadable rows, listing them as rejected, instead of refusing.
    #[arg(long)]
    skip_invalid: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `storectl backup`.
#[derive(clap::Args)]
pub struct BackupArgs {
    /// Where to write the backup (absent or empty).
    #[arg(long, value_name = "DIR")]
    to: PathBuf,
    /// Include the bars (large).
    #[arg(long)]
    klines: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `storectl restore`.
#[derive(clap::Args)]
pub struct RestoreArgs {
    /// The backup directory (with its manifest.json).
    #[arg(long, value_name = "DIR")]
    from: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `storectl verify`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Compare everything (the default).
    #[arg(long, conflicts_with = "sample")]
    full: bool,
    /// Compare the bars of N stocks chosen at random (positions, trades, assets in full).
    #[arg(long, value_name = "N")]
    sample: Option<usize>,
    /// Only these tiers: `hot` (positions in Redis), `cool` (ClickHouse).
    #[arg(long, value_delimiter = ',')]
    tier: Vec<VerifyTier>,
    /// List at most this many differences (all are counted).
    #[arg(long, default_value_t = 1000)]
    max_listed: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum VerifyTier {
    Hot,
    Cool,
}

/// Progress bars for the library's stages.
struct Bars {
    quiet: bool,
    bar: std::sync::Mutex<Option<ProgressBar>>,
}

impl Progress for Bars {
    fn stage(&self, what: &str, total: u64) {
        let bar = progress::bar(total, what, self.quiet);
        if let Ok(mut b) = self.bar.lock() {
            *b = Some(bar);
        }
    }
    fn advance(&self, n: u64) {
        if let Ok(b) = self.bar.lock()
            && let Some(b) = b.as_ref()
        {
            b.inc(n);
        }
    }
    fn done(&self) {
        if let Ok(mut b) = self.bar.lock()
            && let Some(b) = b.take()
        {
            b.finish_and_clear();
        }
    }
}

fn bars(json: bool) -> ProgressHandle {
    Arc::new(Bars { quiet: json, bar: std::sync::Mutex::new(None) })
}

fn actor(by: &Option<String>) -> String {
    by.clone().or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "storectl".into())
}

/// Prints a command's outcome: its report as JSON, or as `text` prints it; or the failure.
fn report<T: serde::Serialize>(
    outcome: std::result::Result<T, MigrationError>,
    json: bool,
    text: impl FnOnce(&T),
) -> Result<ExitCode> {
    match outcome {
        Err(e) => failed(e, json),
        Ok(r) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                text(&r);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints a phase move.
fn print_change(change: &tierstore_model::PhaseChange) {
    println!("phase {} -> {} (#{}, by {}, {})", change.from, change.to, change.seq, change.by, change.at);
}

/// Prints a refusal or failure and gives its exit code.
fn failed(e: MigrationError, json: bool) -> Result<ExitCode> {
    if json {
        let errors = match &e {
            MigrationError::BadSource { errors } => serde_json::to_value(errors)?,
            _ => serde_json::Value::Null,
        };
        let message = crate::logging::scrub(&e.to_string());
        println!("{}", serde_json::json!({ "error": message, "source_errors": errors }));
    } else {
        if let MigrationError::BadSource { errors } = &e {
            for r in errors {
                eprintln!("error: {r}");
            }
        }
        eprintln!("storectl: {}", crate::logging::scrub(&e.to_string()));
    }
    Ok(ExitCode::from(e.exit_code()))
}

async fn open(config: &tierstore::Config, json: bool) -> Result<std::result::Result<Migration, ExitCode>> {
    match Migration::open(config).await {
        Ok(m) => Ok(Ok(m)),
        Err(e) => failed(e, json).map(Err),
    }
}

/// Runs `storectl migrate ...`.
pub async fn run(config_path: Option<&Path>, args: &MigrateArgs) -> Result<ExitCode> {
    let config = super::load_config(config_path)?;
    match &args.command {
        MigrateCommand::Init(a) => {
            let opts = InitOptions {
                legacy_dir: a.legacy_dir.clone(),
                daily_dir: a.daily_dir.clone(),
                skip_invalid: a.skip_invalid,
            };
            report(migration::init(&config, &opts, &bars(a.json)).await, a.json, |r| {
                println!("legacy files: {} ({} files inspected)", r.source.legacy_dir.display(), r.files);
                for (id, dir) in &r.source.accounts {
                    println!("  account {id}: {}", dir.display());
                }
                if let Some(d) = &r.source.daily_dir {
                    println!("  klines: {}", d.display());
                }
                println!(
                    "schemas: warm +{} migration(s), ClickHouse +{} migration(s)",
                    r.warm_migrations.len(),
                    r.cool_migrations.len()
                );
                println!(
                    "accounts: {} created, {} already there",
                    r.accounts_created.len(),
                    r.accounts_kept.len()
                );
                for rej in &r.rejected {
                    println!("rejected: {rej}");
                }
                println!("phase: {}  (next: storectl migrate backfill)", r.phase);
            })
        }
        MigrateCommand::Backfill(a) => {
            let m = match open(&config, a.json).await? {
                Ok(m) => m,
                Err(code) => return Ok(code),
            };
            let opts = BackfillOptions {
                skip_invalid: a.skip_invalid,
                restart: a.restart,
                kline_batch_rows: a.kline_batch_rows,
                trade_batch_rows: a.trade_batch_rows,
            };
            report(migration::backfill(&m, &opts, &bars(a.json)).await, a.json, |r| {
                for (kind, u) in &r.kinds {
                    let rate = if u.seconds > 0.0 { u.rows as f64 / u.seconds } else { 0.0 };
                    println!(
                        "{kind:<10} {:>10} rows  {:>5} unit(s) copied, {:>5} unchanged  {:>8.2} s  {:>10.0} rows/s",
                        u.rows, u.copied, u.unchanged, u.seconds, rate
                    );
                }
                for rej in &r.rejected {
                    println!("rejected: {rej}");
                }
                println!("done in {:.2} s (next: storectl verify --full)", r.seconds);
            })
        }
        MigrateCommand::Switch(a) => {
            let m = match open(&config, a.json).await? {
                Ok(m) => m,
                Err(code) => return Ok(code),
            };
            report(m.switch(a.phase, &actor(&a.by), &a.note).await, a.json, print_change)
        }
        MigrateCommand::Status(a) => {
            let m = match open(&config, a.json).await? {
                Ok(m) => m,
                Err(code) => return Ok(code),
            };
            let s = match m.status().await {
                Ok(s) => s,
                Err(e) => return failed(e, a.json),
            };
            if a.json {
                println!("{}", serde_json::to_string_pretty(&s)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!("phase: {}", s.phase);
            println!("legacy files: {}", s.source.legacy_dir.display());
            for c in &s.history {
                println!("  #{} {} {} -> {} by {}: {}", c.seq, c.at, c.from, c.to, c.by, c.note);
            }
            for (kind, k) in &s.checkpoints {
                let latest = k.latest.map(|t| t.to_string()).unwrap_or_default();
                println!("checkpoints {kind:<10} {:>6} unit(s) {:>10} rows  last {latest}", k.units, k.rows);
            }
            for j in &s.journals {
                println!("  {}: byte {} row {} ({} delivered)", j.unit, j.byte_offset, j.line, j.rows);
            }
            for o in &s.outbox {
                println!("outbox {}: {} pending ({})", o.tier, o.pending, o.dir.display());
            }
            if s.outbox.is_empty() {
                println!("outbox: none in this configuration's outbox directory");
            }
            println!("rejected rows: {}", s.rejected);
            match &s.last_backfill {
                Some(b) => println!("last backfill: {} ({:?})", b.finished_at, b.rows),
                None => println!("last backfill: never"),
            }
            match &s.last_verify {
                Some(v) => println!(
                    "last verify: {} {} {} ({} rows, {} differences)",
                    v.at,
                    if v.full { "full" } else { "partial" },
                    if v.passed { "passed" } else { "FAILED" },
                    v.rows,
                    v.differences
                ),
                None => println!("last verify: never"),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs `storectl rollback`.
pub async fn rollback(config_path: Option<&Path>, args: &RollbackArgs) -> Result<ExitCode> {
    let config = super::load_config(config_path)?;
    report(
        migration::rollback(&config, Some(args.to), &actor(&args.by), &args.note).await,
        args.json,
        print_change,
    )
}

/// Runs `storectl verify`: exit 1 on any difference.
pub async fn verify(config_path: Option<&Path>, args: &VerifyArgs) -> Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let m = match open(&config, args.json).await? {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let all = args.tier.is_empty();
    let opts = VerifyOptions {
        scope: args.sample.map_or(VerifyScope::Full, VerifyScope::Sample),
        hot: all || args.tier.contains(&VerifyTier::Hot),
        cool: all || args.tier.contains(&VerifyTier::Cool),
        max_listed: args.max_listed,
    };
    let r = match migration::verify(&m, &opts, &bars(args.json)).await {
        Ok(r) => r,
        Err(e) => return failed(e, args.json),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        for d in &r.differences {
            println!("{d}");
        }
        if (r.differences.len() as u64) < r.total_differences {
            println!("... and {} more", r.total_differences - r.differences.len() as u64);
        }
        for (kind, k) in &r.kinds {
            println!(
                "{kind:<10} {:>10} compared  {:>6} difference(s)  {:>5} rejected",
                k.compared, k.differences, k.rejected
            );
        }
        println!(
            "{} verify {} in {:.2} s",
            if r.full { "full" } else { "partial" },
            if r.passed { "passed" } else { "FAILED" },
            r.seconds
        );
    }
    Ok(if r.passed { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Runs `storectl export`.
pub async fn export(config_path: Option<&Path>, args: &ExportArgs) -> Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let m = match open(&config, args.json).await? {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let progress = bars(args.json);
    progress.stage("rows", 0);
    let r = migration::export(&m, &args.to, &progress).await;
    progress.done();
    report(r, args.json, |r| {
        println!("exported {} file(s) to {} in {:.2} s: {:?}", r.files, r.dir.display(), r.seconds, r.rows);
    })
}

/// Runs `storectl import`: `migrate init` and `migrate backfill` from another cache.
pub async fn import(config_path: Option<&Path>, args: &ImportArgs) -> Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let opts = InitOptions {
        legacy_dir: args.from.clone(),
        daily_dir: args.daily_dir.clone(),
        skip_invalid: args.skip_invalid,
    };
    let init = match migration::init(&config, &opts, &bars(args.json)).await {
        Ok(r) => r,
        Err(e) => return failed(e, args.json),
    };
    let m = match open(&config, args.json).await? {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let opts = BackfillOptions { skip_invalid: args.skip_invalid, ..BackfillOptions::default() };
    match migration::backfill(&m, &opts, &bars(args.json)).await {
        Err(e) => failed(e, args.json),
        Ok(r) => {
            if args.json {
                println!("{}", serde_json::json!({ "init": init, "backfill": r }));
            } else {
                for (kind, u) in &r.kinds {
                    println!("{kind:<10} {:>10} rows imported", u.rows);
                }
                println!("accounts: {} created; done in {:.2} s", init.accounts_created.len(), r.seconds);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs `storectl backup`.
pub async fn backup(config_path: Option<&Path>, args: &BackupArgs) -> Result<ExitCode> {
    let config = super::load_config(config_path)?;
    report(migration::backup(&config, &args.to, args.klines, &bars(args.json)).await, args.json, |r| {
        for f in &r.manifest.files {
            println!("{:<16} {:>10} rows {:>12} bytes  sha256 {}", f.name, f.rows, f.bytes, f.sha256);
        }
        println!("backup written to {} in {:.2} s", r.dir.display(), r.seconds);
    })
}

/// Runs `storectl restore`.
pub async fn restore(config_path: Option<&Path>, args: &RestoreArgs) -> Result<ExitCode> {
    let config = super::load_config(config_path)?;
    report(migration::restore(&config, &args.from).await, args.json, |r| {
        for (file, rows) in &r.rows {
            println!("{file:<16} {rows:>10} rows restored");
        }
        println!("restored in {:.2} s (next: storectl verify --full)", r.seconds);
    })
}
