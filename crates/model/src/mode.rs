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
