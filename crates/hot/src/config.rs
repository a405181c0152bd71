//! The `[redis]` section of `tierstore.toml`.

use std::time::Duration;

use tierstore_model::error::ensure_between;
use tierstore_model::{Endpoint, SecretUrl, StoreError, Tier};

/// How to reach Redis and where our keys live.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HotConfig {
    /// `redis://[user:password@]host:port[/db]`.
    pub url: SecretUrl,
    /// Prefix of every key we write, so several deployments (or tests) can share one server.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Upper bound of every operation, connecting included, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// `url` is a seed node of a Redis Cluster.
    #[serde(default)]
    pub cluster: bool,
}

fn default_namespace() -> String {
    "tierstore".into()
}

fn default_timeout_ms() -> u64 {
    1000
}

impl HotConfig {
    /// A configuration with default namespace and timeout.
    pub fn new(url: SecretUrl) -> Self {
        Self { url, namespace: default_namespace(), timeout_ms: default_timeout_ms(), cluster: false }
    }

    /// The operation timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// Where the service lives, printable.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint { tier: Tier::Hot, service: "redis".into(), address: self.url.redacted() }
    }

    /// Checks what serde cannot: the scheme, the namespace alphabet (no `{`/`}`, which would
    /// break the hash tags that keep an account's keys in one cluster slot) and the timeout.
    pub fn validate(&self) -> Result<(), StoreError> {
        let scheme = self.url.expose().scheme();
        if !matches!(scheme, "redis" | "rediss" | "valkey" | "valkeys") {
            return Err(StoreError::invalid(
                "redis.url",
                self.url.redacted(),
                "scheme must be redis:// or rediss://",
            ));
        }
        let ns = &self.namespace;
        if ns.is_empty()
            || ns.len() > 64
            || !ns.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
        {
            return Err(StoreError::invalid(
                "redis.namespace",
                ns,
                "must be 1 to 64 of ASCII letters, digits, '_', '-', '.', ':'",
            ));
        }
        ensure_between("redis.timeout_ms", self.timeout_ms, 10, 60_000)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(url: &str) -> HotConfig {
        HotConfig::new(SecretUrl::parse("redis.url", url).unwrap())
    }

    #[test]
    fn validates_scheme_namespace_and_timeout() {
        cfg("redis://127.0.0.1:6379/0").validate().unwrap();
        assert!(cfg("http://127.0.0.1:6379").validate().is_err());
        let mut c = cfg("redis://h");
        c.namespace = "ts{1}".into();
        assert!(c.validate().unwrap_err().to_string().contains("redis.namespace"));
        let mut c = cfg("redis://h");
        c.timeout_ms = 0;
        assert!(c.validate().unwrap_err().to_string().contains("redis.timeout_ms"));
    }

    #[test]
    fn endpoint_redacts_password() {
        let e = cfg("redis://:hunter2@127.0.0.1:6380/0").endpoint();
        assert_eq!(e.address, "redis://:***@127.0.0.1:6380/0");
    }
}
