//! The connection pool and the health probe.

use std::time::Instant;

use async_trait::async_trait;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use tierstore_model::deadline::within;
use tierstore_model::{Endpoint, HealthProbe, ProbeReport, Result};

use crate::config::{WarmBackend, WarmConfig};
use crate::error::{from_db, unavailable};

/// The relational store. Cheap to clone: clones share one pool.
#[derive(Clone)]
pub struct WarmStore {
    db: DatabaseConnection,
    backend: WarmBackend,
    config: WarmConfig,
}

impl std::fmt::Debug for WarmStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WarmStore").field("config", &self.config).finish_non_exhaustive()
    }
}

impl WarmStore {
    /// Opens the pool and checks the database answers within the configured timeout.
    pub async fn connect(config: WarmConfig) -> Result<Self> {
        config.validate()?;
        let backend = config.backend()?;
        let mut opts = ConnectOptions::new(config.url.expose().as_str());
        opts.connect_timeout(config.timeout())
            .acquire_timeout(config.timeout())
            .max_connections(config.max_connections)
            .min_connections(0)
            .sqlx_logging(false);
        let db = within(&config.endpoint(), config.timeout(), async {
            Database::connect(opts).await.map_err(|e| from_db(&config, e))
        })
        .await?;
        let store = WarmStore { db, backend, config };
        store.scalar("SELECT 1").await?;
        Ok(store)
    }

    /// The configuration in use.
    pub fn config(&self) -> &WarmConfig {
        &self.config
    }

    /// The engine behind the URL.
    pub fn backend(&self) -> WarmBackend {
        self.backend
    }

    /// Runs a query returning one text-convertible value, within the timeout.
    async fn scalar(&self, sql: &str) -> Result<String> {
        let db_backend = match self.backend {
            WarmBackend::Mysql => DbBackend::MySql,
            WarmBackend::Sqlite => DbBackend::Sqlite,
        };
        let query = self.db.query_one_raw(Statement::from_string(db_backend, sql));
        let row = within(&self.config.endpoint(), self.config.timeout(), async {
            query.await.map_err(|e| from_db(&self.config, e))
        })
        .await?;
        let row = row.ok_or_else(|| unavailable(&self.config, format!("`{sql}` returned no row")))?;
        row.try_get_by_index::<String>(0)
            .or_else(|_| row.try_get_by_index::<i64>(0).map(|v| v.to_string()))
            .map_err(|e| from_db(&self.config, e))
    }
}

#[async_trait]
impl HealthProbe for WarmStore {
    fn endpoint(&self) -> Endpoint {
        self.config.endpoint()
    }

    async fn probe(&self) -> Result<ProbeReport> {
        let start = Instant::now();
        self.scalar("SELECT 1").await?;
        let round_trip = start.elapsed();
        let version = match self.backend {
            WarmBackend::Mysql => self.scalar("SELECT VERSION()").await?,
            WarmBackend::Sqlite => format!("SQLite {}", self.scalar("SELECT sqlite_version()").await?),
        };
        Ok(ProbeReport { version, round_trip })
    }
}
