//! Moving the phase (`migrate switch`, `rollback`) and showing where the migration stands
//! (`migrate status`).

use std::path::PathBuf;

use tierstore_model::{Checkpoint, MigrationStateStore, PhaseChange, StorageMode};

use super::inspection::Inspection;
use super::records::{self, BackfillRecord, VerifyRecord};
use super::{Migration, MigrationError, Source};
use crate::Config;

/// Records waiting in one outbox of this configuration's outbox directory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboxDepth {
    /// `hot` or `cool`.
    pub tier: String,
    /// The outbox directory.
    pub dir: PathBuf,
    /// Writes not yet delivered to the tier.
    pub pending: u64,
}

/// Checkpoints of one kind of unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CheckpointKind {
    /// Units with a checkpoint.
    pub units: u64,
    /// Rows delivered under them.
    pub rows: u64,
    /// The latest save.
    pub latest: Option<chrono::DateTime<chrono::Utc>>,
}

/// Where the migration stands.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MigrationStatus {
    /// The phase now.
    pub phase: StorageMode,
    /// Every move, oldest first.
    pub history: Vec<PhaseChange>,
    /// Where the files are.
    pub source: Source,
    /// Checkpoints per kind (`trades`, `klines`, ...).
    pub checkpoints: std::collections::BTreeMap<String, CheckpointKind>,
    /// Each journal's checkpoint (they are few and the ones an operator watches).
    pub journals: Vec<Checkpoint>,
    /// Writes waiting in this configuration's outboxes.
    pub outbox: Vec<OutboxDepth>,
    /// Rows the inspection found unreadable (left out with `--skip-invalid`).
    pub rejected: u64,
    /// The last finished backfill.
    pub last_backfill: Option<BackfillRecord>,
    /// The last verify.
    pub last_verify: Option<VerifyRecord>,
}

impl Migration {
    /// Moves the phase forward (`dual_write`, then `db_first`) or back, recording who and why.
    /// `db_first` is refused unless a full verify passed after the last backfill.
    pub async fn switch(&self, to: StorageMode, by: &str, note: &str) -> Result<PhaseChange, MigrationError> {
        if to == StorageMode::DbFirst {
            let backfill: Option<BackfillRecord> = records::load(&self.warm, records::BACKFILL).await?;
            let verify: Option<VerifyRecord> = records::load(&self.warm, records::VERIFY).await?;
            let Some(backfill) = backfill else {
                return Err(MigrationError::Refused(
                    "db_first reads the databases, and no backfill has filled them: run `storectl migrate \
                     backfill`, then `storectl verify --full`"
                        .into(),
                ));
            };
            // Rows the Python program wrote before dual_write reach the databases only through a
            // backfill; a verify made in dual_write saw them all (writes since go to both).
            let since = self
                .warm
                .phase_history()
                .await?
                .into_iter()
                .rev()
                .find(|c| c.to == StorageMode::DualWrite)
                .map(|c| c.at);
            match verify {
                Some(v) if v.phase != StorageMode::DualWrite || since.is_some_and(|s| v.at < s) => {
                    return Err(MigrationError::Refused(format!(
                        "db_first needs a full verify made in dual_write (the last one, at {}, ran in {}): \
                         the files may have taken rows before the switch that no backfill copied. Run \
                         `storectl migrate backfill`, then `storectl verify --full`",
                        v.at, v.phase
                    )));
                }
                Some(v) if v.full && v.passed && v.at >= backfill.finished_at => {}
                Some(v) if v.at < backfill.finished_at => {
                    return Err(MigrationError::Refused(format!(
                        "db_first needs a full verify that passed after the last backfill ({}); the last \
                         verify ran before it, at {}: run `storectl verify --full`",
                        backfill.finished_at, v.at
                    )));
                }
                Some(v) if !v.full => {
                    return Err(MigrationError::Refused(format!(
                        "db_first needs a full verify; the last one ({}) was partial: run `storectl verify --full`",
                        v.at
                    )));
                }
                Some(v) => {
                    return Err(MigrationError::Refused(format!(
                        "db_first needs a verify that passed; the last one ({}) found {} difference(s): \
                         fix them (or roll back), then run `storectl verify --full`",
                        v.at, v.differences
                    )));
                }
                None => {
                    return Err(MigrationError::Refused(
                        "db_first needs a full verify that passed after the last backfill: run \
                         `storectl verify --full`"
                            .into(),
                    ));
                }
            }
        }
        Ok(self.warm.move_phase(to, by, note).await?)
    }

    /// Where the migration stands.
    pub async fn status(&self) -> Result<MigrationStatus, MigrationError> {
        let mut checkpoints: std::collections::BTreeMap<String, CheckpointKind> = Default::default();
        let mut journals = Vec::new();
        for c in self.warm.checkpoints().await? {
            let kind = c.unit.split(':').next().unwrap_or_default().to_owned();
            let k = checkpoints.entry(kind.clone()).or_default();
            k.units += 1;
            k.rows += c.rows;
            k.latest = k.latest.max(Some(c.updated_at));
            if kind == "trades" {
                journals.push(c);
            }
        }
        let outbox_dir = self
            .config
            .store
            .outbox_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_OUTBOX_DIR));
        let mut outbox = Vec::new();
        for tier in ["hot", "cool"] {
            let dir = outbox_dir.join(tier);
            if let Some(pending) = crate::outbox::pending_in(&dir)? {
                outbox.push(OutboxDepth { tier: tier.to_owned(), dir, pending });
            }
        }
        Ok(MigrationStatus {
            phase: self.warm.phase().await?,
            history: self.warm.phase_history().await?,
            source: self.source.clone(),
            checkpoints,
            journals,
            outbox,
            rejected: Inspection::recorded(&self.warm).await?.errors.len() as u64,
            last_backfill: records::load(&self.warm, records::BACKFILL).await?,
            last_verify: records::load(&self.warm, records::VERIFY).await?,
        })
    }
}

/// Moves the phase back to `to` (default `file`: the Python program's files alone). Always
/// allowed and instant — the files are complete in every phase — and needs only the warm
/// tier, so it works whatever else is down.
pub async fn rollback(
    config: &Config,
    to: Option<StorageMode>,
    by: &str,
    note: &str,
) -> Result<PhaseChange, MigrationError> {
    let warm = crate::warm::open(config).await?;
    let to = to.unwrap_or(StorageMode::File);
    let current = warm.phase().await?;
    let rank = |m: StorageMode| match m {
        StorageMode::File => 0,
        StorageMode::DualWrite => 1,
        StorageMode::DbFirst => 2,
    };
    if rank(to) >= rank(current) {
        return Err(MigrationError::Refused(format!(
            "a rollback goes back, and the phase is {current}: {to} is not behind it (use `storectl migrate switch` to go forward)"
        )));
    }
    Ok(warm.move_phase(to, by, note).await?)
}
