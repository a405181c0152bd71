//! The three-phase migration as an operator runs it (`storectl migrate`, `verify`,
//! `rollback`): [`init`] records where the legacy files are and prepares every tier,
//! [`backfill`] copies the files' history into Redis and ClickHouse behind resumable
//! checkpoints, [`verify`] compares every tier with the files field by field, and
//! [`Migration::switch`] moves the phase that every [`crate::Store`] routes by. The decisions
//! these share with the store — row identity, checkpoints, what verify compares — are written
//! down in `shared/spec/migration.md`.
//!
//! Everything the migration must remember between commands lives in the warm tier: the phase
//! and its log, the checkpoints, and a few records (where the legacy files are, what the
//! inspection found, the last backfill and verify), so any machine with the configuration
//! can run the next step.

mod backfill;
mod backup;
mod export;
mod formats;
mod init;
mod inspection;
mod phase;
mod records;
mod source;
mod verify;

pub use backfill::{BackfillOptions, BackfillReport, DEFAULT_TRADE_BATCH_ROWS, UnitReport, backfill};
pub use backup::{
    BackupFile, BackupReport, MANIFEST, Manifest, RestoreReport, backup, check_backup, restore,
};
pub use export::{ExportReport, export};
pub use init::{InitOptions, InitReport, init};
pub use inspection::kline_files;
pub use phase::{CheckpointKind, MigrationStatus, OutboxDepth, rollback};
pub use records::{BackfillRecord, Rejected, VerifyRecord};
pub use source::Source;
pub use verify::{Difference, DifferenceKind, KindSummary, VerifyOptions, VerifyReport, VerifyScope, verify};

use tierstore_legacy::LegacyStore;
use tierstore_model::{Result, StoreError};
use tierstore_warm::WarmStore;

use crate::Config;

/// Whatever shows long work to a person (a progress bar in `storectl`).
pub trait Progress: Send + Sync {
    /// A stage starts: `total` units of work (rows, files), 0 when unknown.
    fn stage(&self, what: &str, total: u64);
    /// `n` more units done.
    fn advance(&self, n: u64);
    /// The stage is over.
    fn done(&self);
}

/// Shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn stage(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn done(&self) {}
}

/// Why a migration step refused to run or stopped.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// A store or file could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The legacy files have rows that cannot be migrated; nothing was written.
    #[error(
        "{} error(s) in the legacy files; nothing was migrated. Fix them, or pass --skip-invalid to \
         migrate everything else and list these in the rejects report. First: {}",
        errors.len(),
        errors.first().map(ToString::to_string).unwrap_or_default()
    )]
    BadSource {
        /// Every error, file and line.
        errors: Vec<Rejected>,
    },
    /// The step cannot run in this state (e.g. `db_first` without a passing full verify).
    #[error("{0}")]
    Refused(String),
    /// No migration was started here (`init` has not run against this warm tier).
    #[error("{0}")]
    NotStarted(String),
    /// A worker of the step failed (a defect): nothing after the last checkpoint counts.
    #[error("{0}")]
    Failed(String),
}

/// Shared handle on a [`Progress`].
pub type ProgressHandle = std::sync::Arc<dyn Progress>;

/// Runs blocking file work on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> std::result::Result<T, MigrationError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| MigrationError::Failed(format!("a worker thread failed: {e}")))?
        .map_err(Into::into)
}

impl MigrationError {
    /// The exit code `storectl` gives it: 1 when a check failed (the command ran and said no),
    /// 2 when it could not run.
    pub fn exit_code(&self) -> u8 {
        match self {
            MigrationError::Refused(_) => 1,
            _ => 2,
        }
    }
}

/// The migration of one deployment: its warm tier (phase, checkpoints, records) and the
/// legacy files `init` recorded.
#[derive(Debug)]
pub struct Migration {
    config: Config,
    warm: WarmStore,
    source: Source,
    legacy: LegacyStore,
}

impl Migration {
    /// Opens the migration `init` started: refuses, saying what to run, if there is none.
    pub async fn open(config: &Config) -> std::result::Result<Self, MigrationError> {
        let not_started = || {
            MigrationError::NotStarted(
                "no migration has been started here: run `storectl migrate init --legacy-dir DIR` first"
                    .into(),
            )
        };
        let warm = match crate::warm::open(config).await {
            Ok(w) => w,
            Err(e) => {
                // A warm tier without any schema is one `init` has not prepared yet.
                let status = crate::warm::connect(config).await?.schema_status().await?;
                if status.iter().all(|m| !m.applied) {
                    return Err(not_started());
                }
                return Err(e.into());
            }
        };
        let source = Source::recorded(&warm).await?.ok_or_else(not_started)?;
        let legacy = LegacyStore::open(source.legacy_config(config)).await?;
        Ok(Migration { config: config.clone(), warm, source, legacy })
    }

    /// Where the legacy files are.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The warm tier holding the migration's state.
    pub fn warm(&self) -> &WarmStore {
        &self.warm
    }

    /// The legacy files as a store.
    pub fn legacy(&self) -> &LegacyStore {
        &self.legacy
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }
}

/// The sibling directory a whole-directory output (`export`, `backup`) is written into before
/// it is renamed to `to`, created fresh; refuses a `to` that holds anything.
pub(crate) fn fresh_partial(
    to: &std::path::Path,
    what: &str,
) -> std::result::Result<std::path::PathBuf, MigrationError> {
    let io = |p: &std::path::Path, doing: &str, e: std::io::Error| {
        MigrationError::Store(StoreError::corrupt(p, None, format!("{doing}: {e}")))
    };
    if to.exists() && std::fs::read_dir(to).map_err(|e| io(to, "cannot list", e))?.next().is_some() {
        return Err(MigrationError::Refused(format!(
            "{} is not empty; {what} writes into a new directory and overwrites nothing",
            to.display()
        )));
    }
    let name = to.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| what.to_owned());
    let partial = to.with_file_name(format!(".{name}.tierstore-partial"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial)
            .map_err(|e| io(&partial, "cannot remove an unfinished earlier run", e))?;
    }
    std::fs::create_dir_all(&partial).map_err(|e| io(&partial, "cannot create", e))?;
    Ok(partial)
}

/// The configured hot tier, or an error saying how to configure one.
pub(crate) async fn connect_hot(config: &Config) -> Result<tierstore_hot::HotStore> {
    let hot = config.redis.clone().ok_or_else(|| {
        StoreError::invalid(
            "redis",
            &config.origin,
            "no [redis] section in this configuration; the migration copies positions into Redis: \
             add one with a url, or set TIERSTORE_REDIS_URL",
        )
    })?;
    tierstore_hot::HotStore::connect(hot).await
}
