//! `storectl migrate init`: phase 1. Inspects the legacy files (refusing on errors unless
//! told to skip them), applies the schemas of the warm and cool tiers, checks Redis answers,
//! creates an account per strategy directory, and records where the files are. Reads the
//! files only: nothing the Python program reads changes.

use std::path::PathBuf;

use tierstore_model::{
    AccountId, AccountStore, AssetStore, Broker, MigrationStateStore, Money, NewAccount, StorageMode,
    StoreError,
};

use super::formats;
use super::inspection::{self, Inspection};
use super::records::Rejected;
use super::{MigrationError, ProgressHandle, Source};
use crate::Config;

/// What `init` is told.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// A cache root (its sub-directories are strategy directories, `_daily` the kline
    /// folder) or one strategy directory.
    pub legacy_dir: PathBuf,
    /// The kline folder, if not `<legacy_dir>/_daily`.
    pub daily_dir: Option<PathBuf>,
    /// Migrate around rows that cannot be read, listing them as rejected, instead of refusing.
    pub skip_invalid: bool,
}

/// What `init` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InitReport {
    /// Where the files are, as recorded.
    pub source: Source,
    /// Warm-tier schema migrations applied now.
    pub warm_migrations: Vec<String>,
    /// ClickHouse schema migrations applied now.
    pub cool_migrations: Vec<String>,
    /// Accounts created now.
    pub accounts_created: Vec<AccountId>,
    /// Accounts that existed already.
    pub accounts_kept: Vec<AccountId>,
    /// Source files inspected.
    pub files: u64,
    /// Rows (or files) that will not be migrated (with `skip_invalid`).
    pub rejected: Vec<Rejected>,
    /// The phase now.
    pub phase: StorageMode,
}

/// Capital given to an account whose asset curve is empty; `storectl account update` changes it.
const DEFAULT_CAPITAL: &str = "1000000";

/// Runs phase 1 (see the module doc). Running it again with the same directories changes
/// nothing that is there; a different directory is refused once a migration has started.
pub async fn init(
    config: &Config,
    opts: &InitOptions,
    progress: &ProgressHandle,
) -> Result<InitReport, MigrationError> {
    let source = Source::discover(&opts.legacy_dir, opts.daily_dir.as_deref())?;
    let tz = config.timezone;
    let inspected = {
        let (source, progress) = (source.clone(), progress.clone());
        super::blocking(move || inspection::refresh(&source, &Inspection::default(), tz, progress.as_ref()))
            .await?
    };
    let positions = inspected.position_errors();
    if !positions.is_empty() || (!inspected.errors.is_empty() && !opts.skip_invalid) {
        let errors = if positions.is_empty() { inspected.errors.clone() } else { positions };
        return Err(MigrationError::BadSource { errors });
    }

    let warm = crate::warm::connect(config).await?;
    let warm_migrations = warm.schema_up(None).await?;
    let warm = crate::warm::open(config).await?;
    if let Some(before) = Source::recorded(&warm).await?
        && (before.legacy_dir != source.legacy_dir || before.daily_dir != source.daily_dir)
    {
        return Err(MigrationError::Refused(format!(
            "a migration from {} (klines {}) is already recorded here; this one names {} (klines {}). \
             Run init again with the same directories to take in new strategy directories; to migrate \
             another cache, start over on a fresh warm database",
            before.legacy_dir.display(),
            before.daily_dir.as_deref().map_or("none".into(), |d| d.display().to_string()),
            source.legacy_dir.display(),
            source.daily_dir.as_deref().map_or("none".into(), |d| d.display().to_string())
        )));
    }
    let cool = crate::cool::connect(config).await?;
    let cool_migrations = cool.schema_up().await?;
    let hot = super::connect_hot(config).await?;
    hot.namespace_status().await?;

    let legacy = tierstore_legacy::LegacyStore::open(source.legacy_config(config)).await?;
    let mut accounts_created = Vec::new();
    let mut accounts_kept = Vec::new();
    for id in source.accounts.keys() {
        match warm.account(id).await {
            Ok(_) => accounts_kept.push(id.clone()),
            Err(StoreError::NotFound { .. }) => {
                let initial_capital = first_total(&legacy, id).await?;
                let entry = config.accounts.iter().find(|a| &a.id == id);
                let new = NewAccount {
                    id: id.clone(),
                    name: entry.and_then(|a| a.name.clone()).unwrap_or_else(|| id.to_string()),
                    broker: entry.and_then(|a| a.broker).unwrap_or(Broker::Qmt),
                    initial_capital,
                };
                match warm.create_account(&new).await {
                    Ok(_) => accounts_created.push(id.clone()),
                    // Created by a concurrent init: there now, which is what was wanted.
                    Err(StoreError::Conflict { .. }) => accounts_kept.push(id.clone()),
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    let formats = {
        let source = source.clone();
        super::blocking(move || formats::capture(&source)).await?
    };
    formats.record(&warm).await?;
    inspected.record(&warm).await?;
    source.record(&warm).await?;
    let phase = warm.phase().await?;
    tracing::info!(legacy_dir = %source.legacy_dir.display(), accounts = source.accounts.len(), "migration initialised");
    Ok(InitReport {
        files: inspected.files.len() as u64,
        rejected: inspected.errors,
        source,
        warm_migrations,
        cool_migrations,
        accounts_created,
        accounts_kept,
        phase,
    })
}

/// The account's first recorded total assets, else [`DEFAULT_CAPITAL`].
async fn first_total(legacy: &tierstore_legacy::LegacyStore, id: &AccountId) -> Result<Money, StoreError> {
    let first = match legacy.assets(id, None).await {
        Ok(points) => points.first().map(|p| p.total).filter(|t| *t > Money::ZERO),
        // An unreadable curve was reported by the inspection (and skipped, if allowed).
        Err(_) => None,
    };
    match first {
        Some(t) => Ok(t),
        None => tierstore_model::quantity::parse_money("initial_capital", DEFAULT_CAPITAL),
    }
}
