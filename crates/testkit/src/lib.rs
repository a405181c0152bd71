//! Fixtures for tests that talk to real servers.
//!
//! Tests find their servers through `TIERSTORE_TEST_REDIS_URL`, `TIERSTORE_TEST_MYSQL_URL`,
//! `TIERSTORE_TEST_POSTGRES_URL` and `TIERSTORE_TEST_CLICKHOUSE_URL` (set by `cargo xtask ci`; defaults are the standard local
//! ports). A server that does not answer is a loud panic that says how to start it, never a
//! skipped test. Each fixture gives a test its own namespace — a random Redis key prefix, a
//! random MySQL, PostgreSQL or ClickHouse database or a SQLite file — and removes it when dropped, so tests run in
//! parallel and can be rerun. This crate knows no tier: it uses only the model's `SecretUrl`,
//! so that a URL it prints never shows a password.

use std::future::Future;

use tierstore_model::SecretUrl;

pub mod bench;
mod clickhouse_cluster;
mod clickhouse_db;
mod clickhouse_stand_in;
mod mariadb_server;
mod mysql_db;
mod postgres_db;
mod redis_ns;
mod redis_server;
mod warm_db;

pub use clickhouse_cluster::{CLUSTER as CLICKHOUSE_CLUSTER, ClickhouseCluster, ClickhouseServer};
pub use clickhouse_db::ClickhouseDatabase;
pub use clickhouse_stand_in::{ClickhouseStandIn, StandInMode, StandInRequest, param as query_param};
pub use mariadb_server::MariadbServer;
pub use mysql_db::MysqlDatabase;
pub use postgres_db::PostgresDatabase;
pub use redis_ns::RedisNamespace;
pub use redis_server::{RedisCluster, RedisServer, free_port, free_port_pair};
pub use warm_db::{WarmDatabase, WarmEngine};

/// The URL of a test service from its environment variable, or the standard local default.
pub fn service_url(var: &str, default: &str) -> String {
    std::env::var(var).ok().filter(|s| !s.is_empty()).unwrap_or_else(|| default.to_owned())
}

/// The configured Redis.
pub fn redis_url() -> String {
    service_url("TIERSTORE_TEST_REDIS_URL", "redis://127.0.0.1:6379")
}

/// The configured MySQL/MariaDB server (no database in the path).
pub fn mysql_url() -> String {
    service_url("TIERSTORE_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306")
}

/// The configured PostgreSQL server (a maintenance database in the path).
pub fn postgres_url() -> String {
    service_url("TIERSTORE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
}

/// The configured ClickHouse HTTP interface.
pub fn clickhouse_url() -> String {
    service_url("TIERSTORE_TEST_CLICKHOUSE_URL", "http://127.0.0.1:8123")
}

/// Panics with the fix when a required service does not answer. The URL and the driver's
/// message are printed with every credential replaced by `***`.
pub fn service_missing(service: &str, var: &str, url: &str, error: &dyn std::fmt::Display) -> ! {
    let (shown, cause) = match SecretUrl::parse(var, url) {
        Ok(u) => (u.redacted(), u.scrub(&error.to_string())),
        // An unparsable URL may be echoed by the error too: show neither.
        Err(_) => ("the URL in ".to_owned() + var, "not a valid URL".to_owned()),
    };
    panic!(
        "{service} is not reachable at {shown}: {cause}\n\
         These tests need a real {service}. Start the test services with `cargo xtask services up` \
         (and export the variables it prints), or run everything with `cargo xtask ci`. \
         Set {var} to use another server."
    )
}

/// A random lower-case suffix for namespaces.
pub fn unique_suffix() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// Runs async clean-up from `Drop`, which may run inside or outside a tokio runtime: a fresh
/// thread with its own runtime works in both.
pub(crate) fn block_on_cleanup<F>(f: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let handle = std::thread::spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
            rt.block_on(f);
        }
    });
    let _ = handle.join();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_missing_service_message_shows_no_credentials() {
        let caught = std::panic::catch_unwind(|| {
            service_missing(
                "ClickHouse",
                "TIERSTORE_TEST_CLICKHOUSE_URL",
                "http://ops:hunter2@127.0.0.1:1/?password=t0ps3cret",
                &"Authentication failed: password hunter2 is incorrect (t0ps3cret)",
            )
        });
        let payload = caught.expect_err("it panics");
        let text = payload.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(
            text.contains("ClickHouse is not reachable at http://ops:***@127.0.0.1:1/?password=***"),
            "{text}"
        );
        assert!(!text.contains("hunter2") && !text.contains("t0ps3cret"), "{text}");
        assert!(text.contains("cargo xtask services up"), "{text}");
    }
}
