//! Turning `redis` errors into the model's error, one line, password scrubbed.

use redis::RedisError;
use tierstore_model::error::chain;
use tierstore_model::{StoreError, Tier};

use crate::config::HotConfig;

/// Any failure to get an answer from the server: down, unreachable, timed out, refused
/// authentication. The caller may retry or fall back.
pub(crate) fn unavailable(config: &HotConfig, cause: impl std::fmt::Display) -> StoreError {
    StoreError::unavailable(Tier::Hot, "redis", config.url.redacted(), config.url.scrub(&cause.to_string()))
}

/// The account's state is not in Redis: never seeded, or lost with the server's data.
pub(crate) fn missing(config: &HotConfig, account: &tierstore_model::AccountId) -> StoreError {
    unavailable(
        config,
        format!(
            "no state for account {account} in namespace {}: never seeded, or Redis lost it \
             (restart without persistence, flush, failover); rehydrate it from the legacy tier",
            config.namespace
        ),
    )
}

/// Maps a driver error. Connection, timeout and authentication problems are `Unavailable`;
/// anything else means the server answered but not as our schema expects.
pub(crate) fn from_redis(config: &HotConfig, e: RedisError) -> StoreError {
    let cause = describe(&e);
    if e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_unrecoverable_error()
        || matches!(e.kind(), redis::ErrorKind::AuthenticationFailed)
        || e.code()
            .is_some_and(|c| matches!(c, "NOAUTH" | "WRONGPASS" | "LOADING" | "MASTERDOWN" | "CLUSTERDOWN"))
    {
        return unavailable(config, cause);
    }
    StoreError::corrupt(
        format!("{}/{}", config.url.redacted(), config.namespace),
        None,
        config.url.scrub(&cause),
    )
}

fn describe(e: &RedisError) -> String {
    if matches!(e.kind(), redis::ErrorKind::AuthenticationFailed) || e.code() == Some("WRONGPASS") {
        return format!("authentication failed ({})", chain(e));
    }
    chain(e)
}
