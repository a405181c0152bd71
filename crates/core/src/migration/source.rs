//! Where the legacy files are: found once by `init`, recorded in the warm tier, read by every
//! later step.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tierstore_legacy::LegacyConfig;
use tierstore_legacy::inspect::{kline_dir, strategy_dirs};
use tierstore_model::{AccountId, MigrationStateStore, Result, StoreError};

use super::records;
use crate::Config;

/// The legacy files of one deployment: each account's strategy directory (the account is the
/// directory's name, as the Python program names them) and the kline folder.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Source {
    /// The directory `init` was given (a cache root or one strategy directory), absolute.
    pub legacy_dir: PathBuf,
    /// The kline folder, absolute, if there is one.
    pub daily_dir: Option<PathBuf>,
    /// Each account's strategy directory, absolute.
    pub accounts: BTreeMap<AccountId, PathBuf>,
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(path).map_err(|e| {
        StoreError::invalid("legacy directory", path.display().to_string(), format!("cannot open: {e}"))
    })
}

impl Source {
    /// Finds the strategy directories and the kline folder under `legacy_dir` (see
    /// `storectl inspect`). Refuses a directory holding neither: a migration that would move
    /// nothing must not look like success.
    pub fn discover(legacy_dir: &Path, daily_dir: Option<&Path>) -> Result<Source> {
        let root = absolute(legacy_dir)?;
        let mut accounts = BTreeMap::new();
        for dir in strategy_dirs(&root)? {
            let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let id = AccountId::new(&name).map_err(|e| {
                StoreError::invalid(
                    "strategy directory",
                    dir.display().to_string(),
                    format!("its name is the account id, and {e}"),
                )
            })?;
            accounts.insert(id, dir);
        }
        let daily_dir = match kline_dir(&root, daily_dir) {
            Some(d) => Some(absolute(&d)?),
            None => None,
        };
        if accounts.is_empty() && daily_dir.is_none() {
            return Err(StoreError::invalid(
                "legacy directory",
                root.display().to_string(),
                "holds no strategy directory (held_days.json, max_price.json, min_price.json, \
                 deal_hist.csv or assets.csv) and no _daily kline folder: nothing to migrate",
            ));
        }
        Ok(Source { legacy_dir: root, daily_dir, accounts })
    }

    /// The legacy tier's configuration for these files, with the configuration's timezone
    /// and platform.
    pub fn legacy_config(&self, config: &Config) -> LegacyConfig {
        LegacyConfig {
            accounts: self.accounts.clone(),
            daily_dir: self.daily_dir.clone(),
            timezone: config.timezone,
            platform: config.legacy.platform,
            held_days_format: config.legacy.held_days_format,
        }
    }

    /// The source `init` recorded, if any.
    pub async fn recorded(warm: &impl MigrationStateStore) -> Result<Option<Source>> {
        records::load(warm, records::SOURCE).await
    }

    pub(crate) async fn record(&self, warm: &impl MigrationStateStore) -> Result<()> {
        records::save(warm, records::SOURCE, self).await
    }
}
