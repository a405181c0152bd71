//! `storectl inspect`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use tierstore::files::{
    FileKind, FileReport, InspectReport, configured_kline_file_count, inspect, inspect_configured,
    kline_file_count,
};

use super::progress;

/// Arguments of `storectl inspect`.
#[derive(clap::Args)]
pub struct InspectArgs {
    /// A strategy directory, or a cache root whose sub-directories are strategy directories
    /// (its `_daily` is the kline folder). Default: the accounts' legacy directories and the
    /// kline folder of the configuration.
    #[arg(long, value_name = "DIR")]
    legacy_dir: Option<PathBuf>,
    /// The kline folder, if not `<DIR>/_daily` (with --legacy-dir).
    #[arg(long, value_name = "DIR", requires = "legacy_dir")]
    daily_dir: Option<PathBuf>,
    /// Timezone of the journal's wall-clock times (default: the configuration's).
    #[arg(long)]
    timezone: Option<chrono_tz::Tz>,
    /// Print JSON: {"files": [{path, kind, encoding, rows, errors: [{line, reason}]}], "totals": {...}}.
    #[arg(long)]
    json: bool,
}

/// Inspects; exit code 1 when any file has errors.
pub fn run(config_path: Option<&Path>, args: &InspectArgs) -> Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let mut config = config;
    config.timezone = args.timezone.unwrap_or(config.timezone);
    let total = match &args.legacy_dir {
        Some(dir) => kline_file_count(dir, args.daily_dir.as_deref()),
        None => configured_kline_file_count(&config),
    };
    let bar = progress::bar(total, "klines", args.json);
    let report = match &args.legacy_dir {
        Some(dir) => inspect(dir, args.daily_dir.as_deref(), config.timezone, &|| bar.inc(1))
            .with_context(|| format!("inspecting {}", dir.display())),
        None => inspect_configured(&config, &|| bar.inc(1))
            .with_context(|| format!("inspecting the legacy files of {}", config.origin)),
    }?;
    bar.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    Ok(if report.has_errors() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn dates(f: &FileReport) -> String {
    f.dates.map(|(a, b)| format!("{a}..{b}")).unwrap_or_else(|| "-".into())
}

fn print_text(report: &InspectReport) {
    let (klines, others): (Vec<&FileReport>, Vec<&FileReport>) =
        report.files.iter().partition(|f| f.kind == FileKind::Kline);
    for f in &others {
        println!(
            "{:<10} {:<9} {:<22} {:>9} rows  {:<23}  {}",
            f.kind.name(),
            f.encoding,
            f.format,
            f.rows,
            dates(f),
            f.path.display()
        );
    }
    if !klines.is_empty() {
        let rows: u64 = klines.iter().map(|f| f.rows).sum();
        let first = klines.iter().filter_map(|f| f.dates.map(|d| d.0)).min();
        let last = klines.iter().filter_map(|f| f.dates.map(|d| d.1)).max();
        let span = match (first, last) {
            (Some(a), Some(b)) => format!("{a}..{b}"),
            _ => "-".into(),
        };
        let dir = klines[0].path.parent().map(|p| p.display().to_string()).unwrap_or_default();
        println!(
            "{:<10} {:<9} {:<22} {rows:>9} rows  {span:<23}  {dir} ({} files)",
            "kline",
            "-",
            "-",
            klines.len()
        );
        for f in klines.iter().filter(|f| !f.notes.is_empty()) {
            for n in &f.notes {
                println!("note: {}: {n}", f.path.display());
            }
        }
    }
    let t = &report.totals;
    println!(
        "totals: positions {}  trades {}  assets {}  kline_rows {}  stocks {}",
        t.positions, t.trades, t.assets, t.kline_rows, t.stocks
    );
    let errors: usize = report.files.iter().map(|f| f.errors.len()).sum();
    for f in report.files.iter().filter(|f| !f.errors.is_empty()) {
        for e in &f.errors {
            println!("error: {}:{}: {}", f.path.display(), e.line, e.reason);
        }
    }
    if errors > 0 {
        println!(
            "{errors} error(s) in {} file(s)",
            report.files.iter().filter(|f| !f.errors.is_empty()).count()
        );
    }
}
