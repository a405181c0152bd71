//! The records the migration keeps in the warm tier between commands, as JSON.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Serialize, de::DeserializeOwned};
use tierstore_model::{MigrationStateStore, Result, StoreError};

/// Where the legacy files are ([`super::Source`]).
pub(crate) const SOURCE: &str = "source";
/// The last inspection: file fingerprints and the rows it rejected.
pub(crate) const INSPECTION: &str = "inspection";
/// The last finished backfill ([`BackfillRecord`]).
pub(crate) const BACKFILL: &str = "last_backfill";
/// The last verify ([`VerifyRecord`]).
pub(crate) const VERIFY: &str = "last_verify";

/// A source row (or whole file, line 0) that is not migrated.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Rejected {
    /// The file.
    pub path: PathBuf,
    /// The 1-based line, 0 for the whole file.
    pub line: u64,
    /// Why.
    pub reason: String,
}

/// The line a file error names (0: the whole file, or an error without a line).
pub(crate) fn error_line(e: &StoreError) -> u64 {
    match e {
        StoreError::Corrupt { line, .. } => line.unwrap_or(0),
        _ => 0,
    }
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.reason)
    }
}

/// What the last finished backfill did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackfillRecord {
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// Rows sent per kind in that run (positions, trades, assets, klines).
    pub rows: std::collections::BTreeMap<String, u64>,
    /// Rows left out (with `--skip-invalid`).
    pub rejected: u64,
}

/// What the last verify found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VerifyRecord {
    /// When it finished.
    pub at: DateTime<Utc>,
    /// Whether it compared everything (not a sample, not one tier).
    pub full: bool,
    /// Whether it found no difference.
    pub passed: bool,
    /// Rows compared.
    pub rows: u64,
    /// Differences found.
    pub differences: u64,
    /// The phase while it ran.
    pub phase: tierstore_model::StorageMode,
}

pub(crate) async fn load<T: DeserializeOwned>(
    warm: &impl MigrationStateStore,
    key: &str,
) -> Result<Option<T>> {
    let Some(text) = warm.record(key).await? else { return Ok(None) };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| StoreError::invalid(format!("migration record {key}"), &text, e.to_string()))
}

pub(crate) async fn save<T: Serialize>(warm: &impl MigrationStateStore, key: &str, value: &T) -> Result<()> {
    let text = serde_json::to_string(value)
        .map_err(|e| StoreError::invalid(format!("migration record {key}"), "", e.to_string()))?;
    warm.save_record(key, &text).await
}
