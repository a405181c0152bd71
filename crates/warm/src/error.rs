//! Turning SeaORM/sqlx errors into the model's error, one line, password scrubbed.

use sea_orm::{DbErr, SqlErr};
use tierstore_model::error::chain;
use tierstore_model::{StoreError, Tier};

use crate::config::WarmConfig;

/// The database could not be reached or refused us.
pub(crate) fn unavailable(config: &WarmConfig, cause: impl std::fmt::Display) -> StoreError {
    let service = config.endpoint().service;
    StoreError::unavailable(Tier::Warm, service, config.url.redacted(), config.url.scrub(&cause.to_string()))
}

/// Maps a driver error met while connecting, probing or running a statement.
pub(crate) fn from_db(config: &WarmConfig, e: DbErr) -> StoreError {
    let cause = match &e {
        DbErr::Conn(inner) | DbErr::Exec(inner) | DbErr::Query(inner) => chain(inner),
        DbErr::ConnectionAcquire(inner) => format!("no connection available: {}", chain(inner)),
        other => chain(other),
    };
    let cause = if missing_table(&cause) {
        format!("{cause} (the warm schema is not installed or not current: run `storectl schema up`)")
    } else {
        cause
    };
    unavailable(config, cause)
}

fn missing_table(cause: &str) -> bool {
    // SQLite, MySQL/MariaDB and PostgreSQL spell it differently.
    cause.contains("no such table")
        || (cause.contains("Table") && cause.contains("doesn't exist"))
        || (cause.contains("relation") && cause.contains("does not exist"))
}

/// Whether a statement failed on a unique key (a duplicate).
pub(crate) fn is_duplicate(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}
