//! Turning SeaORM/sqlx errors into the model's error, one line, password scrubbed.

use sea_orm::DbErr;
use tierstore_model::error::chain;
use tierstore_model::{StoreError, Tier};

use crate::config::WarmConfig;

/// The database could not be reached or refused us.
pub(crate) fn unavailable(config: &WarmConfig, cause: impl std::fmt::Display) -> StoreError {
    let service = config.endpoint().service;
    StoreError::unavailable(Tier::Warm, service, config.url.redacted(), config.url.scrub(&cause.to_string()))
}

/// Maps a driver error met while connecting or probing.
pub(crate) fn from_db(config: &WarmConfig, e: DbErr) -> StoreError {
    let cause = match &e {
        DbErr::Conn(inner) | DbErr::Exec(inner) | DbErr::Query(inner) => chain(inner),
        DbErr::ConnectionAcquire(inner) => format!("no connection available: {}", chain(inner)),
        other => chain(other),
    };
    unavailable(config, cause)
}
