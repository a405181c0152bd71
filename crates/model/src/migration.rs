//! The migration's own state: the phase log and the copy checkpoints.
//!
//! The phase itself is a [`StorageMode`]; its allowed moves are
//! [`StorageMode::check_transition`]. A checkpoint records how far the copy of one source
//! unit (a journal, an asset file, a kline file, an account's positions) has durably reached,
//! so `storectl migrate backfill` resumes after a crash without losing or doubling a row.

use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::mode::StorageMode;

/// One recorded move of the migration phase.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PhaseChange {
    /// 1, 2, 3, ... in the order of the moves.
    pub seq: u64,
    /// The phase left.
    pub from: StorageMode,
    /// The phase entered.
    pub to: StorageMode,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (an operator name or a process).
    pub by: String,
    /// Why.
    pub note: String,
}

/// How far the copy of one source unit has durably reached.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    /// The source unit, e.g. `trades:prod_pwc` or `klines:sh600000`.
    pub unit: String,
    /// Bytes of the source consumed.
    pub byte_offset: u64,
    /// Lines (ordinals) of the source consumed.
    pub line: u64,
    /// Rows delivered to the target.
    pub rows: u64,
    /// Running checksum of the consumed bytes, as hex.
    pub checksum: String,
    /// When written (set by the store).
    pub updated_at: DateTime<Utc>,
}

/// Longest checkpoint unit name.
pub const MAX_UNIT_LEN: usize = 255;

impl Checkpoint {
    /// Checks the fields before anything is written.
    pub fn validate(&self) -> Result<(), StoreError> {
        if self.unit.is_empty() || self.unit.len() > MAX_UNIT_LEN || self.unit.chars().any(char::is_control) {
            return Err(StoreError::invalid(
                "checkpoint unit",
                &self.unit,
                format!("must be 1 to {MAX_UNIT_LEN} bytes without control characters"),
            ));
        }
        if self.checksum.len() > 128 || !self.checksum.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::invalid(
                "checkpoint checksum",
                &self.checksum,
                "must be up to 128 hex digits",
            ));
        }
        for (field, v) in [
            ("checkpoint byte_offset", self.byte_offset),
            ("checkpoint line", self.line),
            ("checkpoint rows", self.rows),
        ] {
            if v > i64::MAX as u64 {
                return Err(StoreError::invalid(field, v.to_string(), "larger than a signed 64-bit integer"));
            }
        }
        Ok(())
    }
}

/// Longest migration record (JSON text the migration keeps: where the legacy files are, what
/// the last backfill and verify found).
pub const MAX_RECORD_LEN: usize = 4 * 1024 * 1024;

/// Checks a migration record's key and value before anything is written: the key as a
/// checkpoint unit (1 to 255 bytes, no control characters), the value at most
/// [`MAX_RECORD_LEN`] bytes.
pub fn check_record(key: &str, value: &str) -> Result<(), StoreError> {
    check_record_key(key)?;
    if value.len() > MAX_RECORD_LEN {
        return Err(StoreError::invalid(
            "record value",
            format!("{} bytes", value.len()),
            format!("longer than {MAX_RECORD_LEN} bytes"),
        ));
    }
    Ok(())
}

/// Checks a migration record's key (1 to 255 bytes, no control characters).
pub fn check_record_key(key: &str) -> Result<(), StoreError> {
    if key.is_empty() || key.len() > MAX_UNIT_LEN || key.chars().any(char::is_control) {
        return Err(StoreError::invalid(
            "record key",
            key,
            format!("must be 1 to {MAX_UNIT_LEN} bytes without control characters"),
        ));
    }
    Ok(())
}

/// Who moves the phase, checked like a name: 1 to 100 characters, no control characters.
pub fn check_actor(by: &str) -> Result<(), StoreError> {
    crate::account::check_name("by", by)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(unit: &str, checksum: &str) -> Checkpoint {
        Checkpoint {
            unit: unit.into(),
            byte_offset: 1,
            line: 1,
            rows: 1,
            checksum: checksum.into(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn checkpoints_are_validated() {
        cp("trades:prod", "00ff").validate().unwrap();
        let e = cp("", "00").validate().unwrap_err();
        assert!(e.to_string().starts_with(r#"invalid checkpoint unit """#), "{e}");
        let e = cp("a\nb", "00").validate().unwrap_err();
        assert!(e.to_string().starts_with(r#"invalid checkpoint unit "a\nb""#), "{e}");
        let e = cp("u", "xyz").validate().unwrap_err();
        assert_eq!(e.to_string(), r#"invalid checkpoint checksum "xyz": must be up to 128 hex digits"#);
        let mut c = cp("u", "00");
        c.rows = u64::MAX;
        assert!(c.validate().unwrap_err().to_string().starts_with("invalid checkpoint rows"));
    }
}
