//! Turning `redis` errors into the model's error, one line, credentials scrubbed.

use redis::RedisError;
use tierstore_model::error::chain;
use tierstore_model::{AccountId, StoreError, Tier};

use crate::config::HotConfig;

/// Server error codes that mean "not now, or not here": the server is loading, busy with a
/// script, out of memory, a read-only replica, or a cluster that is reconfiguring or lost its
/// master — or it refuses our credentials. Retrying later or falling back to another tier is
/// the answer; none of them says anything about our data.
const TRANSIENT_CODES: [&str; 11] = [
    "READONLY",
    "TRYAGAIN",
    "LOADING",
    "BUSY",
    "OOM",
    "MASTERDOWN",
    "CLUSTERDOWN",
    "NOAUTH",
    "WRONGPASS",
    "NOPERM",
    "NOREPLICAS",
];

/// Any failure to get an answer from the server: down, unreachable, timed out, refused
/// authentication, or one of [`TRANSIENT_CODES`]. The caller may retry or fall back.
pub(crate) fn unavailable(config: &HotConfig, cause: impl std::fmt::Display) -> StoreError {
    StoreError::unavailable(Tier::Hot, "redis", config.url.redacted(), config.url.scrub(&cause.to_string()))
}

/// The account's state is not current in Redis: never seeded, lost, or from an older epoch.
pub(crate) fn not_seeded(config: &HotConfig, account: &AccountId, reason: impl Into<String>) -> StoreError {
    StoreError::not_seeded(Tier::Hot, format!("account {account} in namespace {}", config.namespace), reason)
}

/// The reason given when an account string does not exist.
pub(crate) const NO_STRING: &str =
    "never seeded, or Redis lost it (a restart without persistence, a flush, a failover)";

/// Data under the namespace that is not what our schema writes.
pub(crate) fn corrupt(config: &HotConfig, what: &str, reason: impl Into<String>) -> StoreError {
    StoreError::corrupt(format!("{}/{}:{what}", config.url.redacted(), config.namespace), None, reason)
}

/// Maps a driver error. Connection, timeout, authentication and the transient server codes
/// are `Unavailable`; anything else means the server answered but not as our schema expects.
pub(crate) fn from_redis(config: &HotConfig, e: RedisError) -> StoreError {
    let cause = describe(&e);
    if is_transient(&e) {
        return unavailable(config, cause);
    }
    corrupt(config, "", config.url.scrub(&cause))
}

/// Whether the error says the server could not serve us now (see [`TRANSIENT_CODES`]).
pub(crate) fn is_transient(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_unrecoverable_error()
        || matches!(e.kind(), redis::ErrorKind::AuthenticationFailed)
        || e.code().is_some_and(|c| TRANSIENT_CODES.contains(&c))
}

fn describe(e: &RedisError) -> String {
    if matches!(e.kind(), redis::ErrorKind::AuthenticationFailed) || e.code() == Some("WRONGPASS") {
        return format!("authentication failed ({})", chain(e));
    }
    chain(e)
}

/// The text of a script's error reply after its code, without the `script: <sha>, on
/// @user_script:<line>.` that Redis appends.
pub(crate) fn script_reason(e: &RedisError) -> String {
    let text = e.detail().map(str::to_owned).unwrap_or_else(|| e.to_string());
    let text = text.split(" script: ").next().unwrap_or(&text);
    text.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tierstore_model::SecretUrl;

    fn config() -> HotConfig {
        HotConfig::new(SecretUrl::parse("redis.url", "redis://:pw@127.0.0.1:6379").unwrap())
    }

    /// The error as the driver builds it from the bytes a server sends.
    fn server_error(reply: &str) -> RedisError {
        match redis::parse_redis_value(format!("-{reply}\r\n").as_bytes()) {
            Ok(redis::Value::ServerError(e)) => e.into(),
            Err(e) => e,
            Ok(other) => panic!("{reply}: parsed as {other:?}"),
        }
    }

    #[test]
    fn transient_server_codes_are_unavailable() {
        for reply in [
            "READONLY You can't write against a read only replica.",
            "TRYAGAIN Multiple keys request during rehashing of slot",
            "LOADING Redis is loading the dataset in memory",
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
            "OOM command not allowed when used memory > 'maxmemory'.",
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
            "CLUSTERDOWN The cluster is down",
            "NOAUTH Authentication required.",
            "WRONGPASS invalid username-password pair or user is disabled.",
            "NOPERM this user has no permissions to run the 'evalsha' command",
            "NOREPLICAS Not enough good replicas to write.",
        ] {
            let e = from_redis(&config(), server_error(reply));
            assert!(e.is_unavailable(), "{reply}: {e:?}");
            assert!(!e.to_string().contains("pw@"), "{e}");
        }
    }

    #[test]
    fn schema_errors_are_corrupt() {
        for reply in ["WRONGTYPE Operation against a key holding the wrong kind of value", "ERR syntax error"]
        {
            let e = from_redis(&config(), server_error(reply));
            assert!(matches!(e, StoreError::Corrupt { .. }), "{reply}: {e:?}");
        }
    }

    #[test]
    fn script_reasons_lose_the_script_suffix() {
        let e = server_error("CORRUPT line 3: bad price of 000001.SZ script: 3fc3d43d, on @user_script:9.");
        assert_eq!(e.code(), Some("CORRUPT"));
        assert_eq!(script_reason(&e), "line 3: bad price of 000001.SZ");
    }
}
