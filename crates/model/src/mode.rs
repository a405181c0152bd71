//! The migration phases, as the storage mode the composing layer routes by.

use crate::text_enum::text_enum;

text_enum!(
    /// Which stores are read and written (see the three-phase migration in the README).
    StorageMode, "mode" {
        /// Phase 0/1: files only; databases may exist but are not used.
        File => "file",
        /// Phase 2: read files, write files and databases.
        DualWrite => "dual_write",
        /// Phase 3: read databases (falling back to files), write both.
        DbFirst => "db_first",
    }
);

// The enum is declared by `text_enum!`, which cannot take a `#[default]` variant.
#[allow(clippy::derivable_impls)]
impl Default for StorageMode {
    fn default() -> Self {
        StorageMode::File
    }
}

impl StorageMode {
    /// Whether the migration may move from `self` to `to`. Forward one step at a time
    /// (file → dual_write → db_first), because db_first reads databases that only dual_write
    /// has been filling alongside the files; back to any earlier phase at any time, because
    /// the files are written in every phase (a rollback is a switch, never a copy).
    pub fn check_transition(self, to: StorageMode) -> Result<(), crate::error::StoreError> {
        use StorageMode::*;
        let refuse = |why: &str| {
            Err(crate::error::StoreError::conflict(
                "migration phase",
                self,
                format!("cannot move to {to}: {why}"),
            ))
        };
        match (self, to) {
            (a, b) if a == b => refuse("already there"),
            (File, DualWrite) | (DualWrite, DbFirst) | (DualWrite | DbFirst, File) | (DbFirst, DualWrite) => {
                Ok(())
            }
            (File, DbFirst) => {
                refuse("go through dual_write first, so the databases are filled and verified")
            }
            _ => refuse("not a transition of the phase table"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StorageMode::{self, *};

    #[test]
    fn phase_table() {
        let allowed = [
            (File, DualWrite),
            (DualWrite, DbFirst),
            (DualWrite, File),
            (DbFirst, DualWrite),
            (DbFirst, File),
        ];
        for from in StorageMode::ALL {
            for to in StorageMode::ALL {
                assert_eq!(
                    from.check_transition(*to).is_ok(),
                    allowed.contains(&(*from, *to)),
                    "{from} -> {to}"
                );
            }
        }
        assert_eq!(
            File.check_transition(DbFirst).unwrap_err().to_string(),
            r#"conflict on migration phase "file": cannot move to db_first: go through dual_write first, so the databases are filled and verified"#
        );
    }
}
