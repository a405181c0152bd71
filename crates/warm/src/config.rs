//! The `[warm]` section of `tierstore.toml`.

use std::time::Duration;

use tierstore_model::error::ensure_between;
use tierstore_model::{Endpoint, SecretUrl, StoreError, Tier};

/// Which relational engine a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarmBackend {
    /// MySQL 8 or MariaDB.
    Mysql,
    /// SQLite (embedded).
    Sqlite,
}

impl WarmBackend {
    /// The service name used in reports and errors.
    pub fn service(self) -> &'static str {
        match self {
            WarmBackend::Mysql => "mysql",
            WarmBackend::Sqlite => "sqlite",
        }
    }
}

/// How to reach the relational database.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarmConfig {
    /// `mysql://user:password@host:3306/database` or `sqlite://path/to/file.db?mode=rwc`.
    pub url: SecretUrl,
    /// Upper bound of connecting and of acquiring a pooled connection, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Pool size.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
}

fn default_timeout_ms() -> u64 {
    3000
}

fn default_max_connections() -> u32 {
    10
}

impl WarmConfig {
    /// A configuration with default timeout and pool size.
    pub fn new(url: SecretUrl) -> Self {
        Self { url, timeout_ms: default_timeout_ms(), max_connections: default_max_connections() }
    }

    /// The connect/acquire timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// The engine the URL names.
    pub fn backend(&self) -> Result<WarmBackend, StoreError> {
        match self.url.expose().scheme() {
            "mysql" | "mariadb" => Ok(WarmBackend::Mysql),
            "sqlite" => Ok(WarmBackend::Sqlite),
            _ => Err(StoreError::invalid(
                "warm.url",
                self.url.redacted(),
                "scheme must be mysql:// or sqlite:",
            )),
        }
    }

    /// Where the service lives, printable.
    pub fn endpoint(&self) -> Endpoint {
        let service = self.backend().map(WarmBackend::service).unwrap_or("sql");
        Endpoint { tier: Tier::Warm, service: service.into(), address: self.url.redacted() }
    }

    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), StoreError> {
        self.backend()?;
        ensure_between("warm.timeout_ms", self.timeout_ms, 10, 600_000)?;
        ensure_between("warm.max_connections", u64::from(self.max_connections), 1, 1000)?;
        Ok(())
    }
}
