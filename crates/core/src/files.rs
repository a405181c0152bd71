//! The legacy files as an operator sees them: what a migration would read ([`inspect`],
//! [`inspect_configured`]) and a realistic dataset to try it on ([`generate`]). The work is
//! the legacy tier's; this module is how the rest of the system (`storectl`) reaches it.

use std::path::Path;

pub use tierstore_legacy::inspect::{
    FileKind, FileReport, InspectReport, LineError, Totals, inspect, kline_file_count,
};
pub use tierstore_legacy::synth::{DatasetSpec, DatasetSummary, generate};
use tierstore_model::{Result, StoreError};

use crate::config::Config;

/// Inspects what the configuration names: each account's legacy directory and the kline
/// folder. `progress` is called once per kline file read.
pub fn inspect_configured(config: &Config, progress: &(dyn Fn() + Sync)) -> Result<InspectReport> {
    let legacy = config.legacy_config().ok_or_else(|| {
        StoreError::invalid(
            "legacy",
            "(none)",
            "the configuration names no legacy directory: set accounts[].legacy_dir or legacy.daily_dir, \
             or pass --legacy-dir",
        )
    })?;
    let mut files = Vec::new();
    let mut totals = Totals::default();
    let mut add = |r: InspectReport| {
        files.extend(r.files);
        totals.positions += r.totals.positions;
        totals.trades += r.totals.trades;
        totals.assets += r.totals.assets;
        totals.kline_rows += r.totals.kline_rows;
        totals.stocks += r.totals.stocks;
    };
    for dir in legacy.accounts.values() {
        add(inspect(dir, None, legacy.timezone, progress)?);
    }
    if let Some(daily) = &legacy.daily_dir {
        add(inspect_kline_folder(daily, legacy.timezone, progress)?);
    }
    Ok(InspectReport { files, totals })
}

/// How many kline files [`inspect_configured`] will read (for a progress bar).
pub fn configured_kline_file_count(config: &Config) -> u64 {
    let Some(daily) = config.legacy_config().and_then(|l| l.daily_dir) else { return 0 };
    kline_file_count(&daily, Some(&daily))
}

fn inspect_kline_folder(
    daily: &Path,
    tz: chrono_tz::Tz,
    progress: &(dyn Fn() + Sync),
) -> Result<InspectReport> {
    // Inspecting the folder with itself as kline folder reads only the klines.
    inspect(daily, Some(daily), tz, progress)
}
