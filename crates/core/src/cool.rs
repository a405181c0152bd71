//! The cool tier as operators reach it: the ClickHouse schema (and, as the cool-tier issue
//! lands, its stores), over the configured server.

pub use tierstore_cool::{
    AccountTradeStats, CoolConfig, CoolMigration, CoolStore, DEFAULT_BATCH_ROWS, KlineWriter, ServerVersion,
    TableStorage, WireCompression,
};
use tierstore_model::StoreError;

use crate::Config;

/// The configured cool tier (with the configuration's market timezone), or an error saying
/// how to configure one.
pub fn cool_config(config: &Config) -> Result<CoolConfig, StoreError> {
    let mut cool = config.clickhouse.clone().ok_or_else(|| {
        StoreError::invalid(
            "clickhouse",
            &config.origin,
            "no [clickhouse] section in this configuration; add one with a url, or set TIERSTORE_CLICKHOUSE_URL",
        )
    })?;
    cool.timezone = config.timezone;
    Ok(cool)
}

/// Connects to the configured ClickHouse (the database need not exist yet).
pub async fn connect(config: &Config) -> Result<CoolStore, StoreError> {
    CoolStore::connect(cool_config(config)?).await
}
