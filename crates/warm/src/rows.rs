//! Reading stored values back into validated model types.

use tierstore_model::{Result, StoreError};

/// A value read from the database that fails the model's validation is corrupt data, named by
/// `table[key].column` (a row written around the store, by hand or by an older release).
pub(crate) fn stored<T>(parsed: Result<T>, at: String) -> Result<T> {
    parsed.map_err(|e| StoreError::corrupt(format!("warm:{at}"), None, e.to_string()))
}
