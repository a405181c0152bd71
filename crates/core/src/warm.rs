//! The warm tier as operators reach it: the schema, accounts, strategies, parameters, users
//! and the migration state, over the configured relational database. With no configuration
//! file at all that is the embedded SQLite file `./tierstore.db` (the built-in defaults);
//! a configuration file without a `[warm]` section has no warm tier, for these commands as
//! for `health`.

use tierstore_model::StoreError;
pub use tierstore_warm::{SchemaMigration, WarmBackend, WarmConfig, WarmStore};

use crate::Config;

/// The configured warm tier, or an error saying how to configure one.
pub fn warm_config(config: &Config) -> Result<WarmConfig, StoreError> {
    config.warm.clone().ok_or_else(|| {
        StoreError::invalid(
            "warm",
            &config.origin,
            "no [warm] section in this configuration; add one with a url, or set TIERSTORE_WARM_URL",
        )
    })
}

/// Connects without checking the schema (for `schema` commands).
pub async fn connect(config: &Config) -> Result<WarmStore, StoreError> {
    WarmStore::connect(warm_config(config)?).await
}

/// Connects and refuses a schema that is not current, saying how to fix it.
pub async fn open(config: &Config) -> Result<WarmStore, StoreError> {
    WarmStore::open(warm_config(config)?).await
}
