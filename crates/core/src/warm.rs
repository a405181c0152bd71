//! The warm tier as operators reach it: the schema, accounts, strategies, parameters, users
//! and the migration state, over the configured relational database — or the embedded SQLite
//! file `./tierstore.db` when the configuration names none.

use tierstore_model::{SecretUrl, StoreError};
pub use tierstore_warm::{SchemaMigration, WarmBackend, WarmConfig, WarmStore};

use crate::Config;

/// The URL used when the configuration has no `[warm]` section.
pub const DEFAULT_URL: &str = "sqlite://tierstore.db?mode=rwc";

/// The configured warm tier, or the embedded default.
pub fn warm_config(config: &Config) -> Result<WarmConfig, StoreError> {
    match &config.warm {
        Some(w) => Ok(w.clone()),
        None => Ok(WarmConfig::new(SecretUrl::parse("warm.url", DEFAULT_URL)?)),
    }
}

/// Connects without checking the schema (for `schema` commands).
pub async fn connect(config: &Config) -> Result<WarmStore, StoreError> {
    WarmStore::connect(warm_config(config)?).await
}

/// Connects and refuses a schema that is not current, saying how to fix it.
pub async fn open(config: &Config) -> Result<WarmStore, StoreError> {
    WarmStore::open(warm_config(config)?).await
}
