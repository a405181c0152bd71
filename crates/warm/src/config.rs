//! The `[warm]` section of `tierstore.toml`.

use std::time::Duration;

use tierstore_model::error::ensure_between;
use tierstore_model::{Endpoint, LoginPolicy, SecretUrl, StoreError, Tier};

/// Which relational engine a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarmBackend {
    /// MySQL 8 or MariaDB.
    Mysql,
    /// PostgreSQL.
    Postgres,
    /// SQLite (embedded).
    Sqlite,
}

impl WarmBackend {
    /// The service name used in reports and errors.
    pub fn service(self) -> &'static str {
        match self {
            WarmBackend::Mysql => "mysql",
            WarmBackend::Postgres => "postgres",
            WarmBackend::Sqlite => "sqlite",
        }
    }
}

/// How to reach the relational database.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarmConfig {
    /// `mysql://user:password@host:3306/database`, `postgres://user@host:5432/database` or
    /// `sqlite://path/to/file.db?mode=rwc`.
    pub url: SecretUrl,
    /// Upper bound of connecting, of acquiring a pooled connection and of each operation, in
    /// milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Pool size.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// Failed logins in a row that lock a user.
    #[serde(default = "default_max_failed_logins")]
    pub max_failed_logins: u32,
    /// How long that lock lasts, in minutes.
    #[serde(default = "default_lockout_minutes")]
    pub lockout_minutes: u32,
    /// How long a login session lasts, in minutes.
    #[serde(default = "default_session_minutes")]
    pub session_minutes: u32,
}

fn default_max_failed_logins() -> u32 {
    5
}

fn default_lockout_minutes() -> u32 {
    15
}

fn default_session_minutes() -> u32 {
    12 * 60
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
        Self {
            url,
            timeout_ms: default_timeout_ms(),
            max_connections: default_max_connections(),
            max_failed_logins: default_max_failed_logins(),
            lockout_minutes: default_lockout_minutes(),
            session_minutes: default_session_minutes(),
        }
    }

    /// The connect/acquire timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// The engine the URL names.
    pub fn backend(&self) -> Result<WarmBackend, StoreError> {
        match self.url.expose().scheme() {
            "mysql" | "mariadb" => Ok(WarmBackend::Mysql),
            "postgres" | "postgresql" => Ok(WarmBackend::Postgres),
            "sqlite" => Ok(WarmBackend::Sqlite),
            _ => Err(StoreError::invalid(
                "warm.url",
                self.url.redacted(),
                "scheme must be mysql://, postgres:// or sqlite:",
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
        ensure_between("warm.max_failed_logins", u64::from(self.max_failed_logins), 1, 100)?;
        ensure_between("warm.lockout_minutes", u64::from(self.lockout_minutes), 1, 60 * 24 * 30)?;
        ensure_between("warm.session_minutes", u64::from(self.session_minutes), 1, 60 * 24 * 90)?;
        Ok(())
    }

    /// The login rules these settings describe.
    pub fn login_policy(&self) -> LoginPolicy {
        LoginPolicy {
            max_failed_logins: self.max_failed_logins,
            lockout: chrono::Duration::minutes(i64::from(self.lockout_minutes)),
            session_ttl: chrono::Duration::minutes(i64::from(self.session_minutes)),
        }
    }
}
