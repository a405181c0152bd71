//! The connection pool, transactions, the health probe and the schema.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, QuerySelect, Select, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use tierstore_migrations::{MigrationStatus, Migrator, MigratorTrait};
use tierstore_model::deadline::within;
use tierstore_model::{Clock, Endpoint, HealthProbe, LoginPolicy, ProbeReport, Result, SystemClock};

use crate::config::{WarmBackend, WarmConfig};
use crate::error::{from_db, unavailable};

/// The relational store. Cheap to clone: clones share one pool.
#[derive(Clone)]
pub struct WarmStore {
    pub(crate) db: DatabaseConnection,
    backend: WarmBackend,
    pub(crate) config: WarmConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) policy: LoginPolicy,
}

impl std::fmt::Debug for WarmStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WarmStore").field("config", &self.config).finish_non_exhaustive()
    }
}

/// One applied or pending schema migration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SchemaMigration {
    /// The migration's name, e.g. `m20261130_000001_accounts_strategies`.
    pub name: String,
    /// Whether it is applied.
    pub applied: bool,
}

impl WarmStore {
    /// Opens the pool and checks the database answers within the configured timeout. The
    /// schema is not checked (health probes and `schema up` need only this); use
    /// [`WarmStore::open`] to work with the data.
    pub async fn connect(config: WarmConfig) -> Result<Self> {
        config.validate()?;
        let backend = config.backend()?;
        let mut opts = ConnectOptions::new(config.url.expose().as_str());
        opts.connect_timeout(config.timeout())
            .acquire_timeout(config.timeout())
            .max_connections(config.max_connections)
            .min_connections(0)
            .sqlx_logging(false);
        if backend == WarmBackend::Sqlite {
            // WAL lets readers go on while one writer commits; writers queue for up to the
            // operation timeout instead of failing at once.
            let busy = config.timeout();
            opts.map_sqlx_sqlite_opts(move |o| {
                o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal).busy_timeout(busy)
            });
        }
        let db = within(&config.endpoint(), config.timeout(), async {
            Database::connect(opts).await.map_err(|e| from_db(&config, e))
        })
        .await?;
        let policy = config.login_policy();
        let store = WarmStore { db, backend, config, clock: Arc::new(SystemClock), policy };
        store.scalar("SELECT 1").await?;
        Ok(store)
    }

    /// [`WarmStore::connect`], then refuses a database whose schema is not current, naming the
    /// pending migrations and the command that applies them.
    pub async fn open(config: WarmConfig) -> Result<Self> {
        let store = Self::connect(config).await?;
        let pending: Vec<String> =
            store.schema_status().await?.into_iter().filter(|m| !m.applied).map(|m| m.name).collect();
        if !pending.is_empty() {
            return Err(unavailable(
                &store.config,
                format!(
                    "the warm schema is not current: {} migration(s) pending ({}); run `storectl schema up`",
                    pending.len(),
                    pending.join(", ")
                ),
            ));
        }
        Ok(store)
    }

    /// Uses `clock` for every instant the store records (tests move it).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Overrides the login rules of the configuration.
    #[must_use]
    pub fn with_login_policy(mut self, policy: LoginPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The configuration in use.
    pub fn config(&self) -> &WarmConfig {
        &self.config
    }

    /// The engine behind the URL.
    pub fn backend(&self) -> WarmBackend {
        self.backend
    }

    /// Every migration the code knows, in order, with whether it is applied.
    pub async fn schema_status(&self) -> Result<Vec<SchemaMigration>> {
        self.run(async {
            let list = Migrator::get_migration_with_status(&self.db).await?;
            Ok(list
                .iter()
                .map(|m| SchemaMigration {
                    name: m.name().to_owned(),
                    applied: m.status() == MigrationStatus::Applied,
                })
                .collect())
        })
        .await
    }

    /// Applies every pending migration (or `steps` of them); returns the names applied.
    pub async fn schema_up(&self, steps: Option<u32>) -> Result<Vec<String>> {
        let before = self.schema_status().await?;
        self.run(Migrator::up(&self.db, steps)).await?;
        let after = self.schema_status().await?;
        Ok(changed(&before, &after))
    }

    /// Reverts the newest `steps` applied migrations (all with `None`); returns the names reverted.
    pub async fn schema_down(&self, steps: Option<u32>) -> Result<Vec<String>> {
        let before = self.schema_status().await?;
        let steps = steps.unwrap_or_else(|| before.iter().filter(|m| m.applied).count() as u32);
        if steps > 0 {
            self.run(Migrator::down(&self.db, Some(steps))).await?;
        }
        let after = self.schema_status().await?;
        Ok(changed(&before, &after))
    }

    /// Drops every table of the database (not only tierstore's) and applies all migrations
    /// again.
    pub async fn schema_fresh(&self) -> Result<()> {
        let conn = self.schema_connection().await?;
        self.run(Migrator::fresh(&conn)).await
    }

    /// A connection for schema work. SeaORM's `fresh` switches SQLite's foreign-key checks off
    /// with a PRAGMA, which holds for one connection only: on a pool the following DROPs may
    /// run on another connection and fail. SQLite therefore gets a pool of exactly one.
    async fn schema_connection(&self) -> Result<DatabaseConnection> {
        if self.backend != WarmBackend::Sqlite {
            return Ok(self.db.clone());
        }
        let mut opts = ConnectOptions::new(self.config.url.expose().as_str());
        opts.max_connections(1).min_connections(0).acquire_timeout(self.config.timeout()).sqlx_logging(false);
        self.run(Database::connect(opts)).await
    }

    /// Runs `f` within the configured timeout, mapping driver errors.
    pub(crate) async fn run<T>(&self, f: impl Future<Output = std::result::Result<T, DbErr>>) -> Result<T> {
        within(&self.config.endpoint(), self.config.timeout(), async {
            f.await.map_err(|e| from_db(&self.config, e))
        })
        .await
    }

    /// Runs a store operation within the configured timeout.
    pub(crate) async fn op<T>(&self, f: impl Future<Output = Result<T>>) -> Result<T> {
        within(&self.config.endpoint(), self.config.timeout(), f).await
    }

    /// Begins a transaction that writes. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads first and writes later can fail
    /// with "database is locked" instead of waiting. MySQL and PostgreSQL lock rows with
    /// `SELECT ... FOR UPDATE` inside.
    pub(crate) async fn write_txn(&self) -> Result<DatabaseTransaction> {
        let opts = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        self.db.begin_with_options(opts).await.map_err(|e| self.err(e))
    }

    /// The row `select` finds, locked for the rest of `txn`: `FOR UPDATE` on MySQL and
    /// PostgreSQL; on SQLite the `BEGIN IMMEDIATE` of [`WarmStore::write_txn`] already keeps
    /// every other writer out.
    pub(crate) async fn locked<E: EntityTrait>(
        &self,
        txn: &DatabaseTransaction,
        select: Select<E>,
    ) -> Result<Option<E::Model>> {
        select.lock_exclusive().one(txn).await.map_err(|e| self.err(e))
    }

    /// Maps a driver error.
    pub(crate) fn err(&self, e: DbErr) -> tierstore_model::StoreError {
        from_db(&self.config, e)
    }

    /// Now, by the store's clock, at the microsecond precision every engine keeps.
    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let now = self.clock.now();
        now - chrono::Duration::nanoseconds(i64::from(now.timestamp_subsec_nanos() % 1000))
    }

    fn db_backend(&self) -> DbBackend {
        match self.backend {
            WarmBackend::Mysql => DbBackend::MySql,
            WarmBackend::Postgres => DbBackend::Postgres,
            WarmBackend::Sqlite => DbBackend::Sqlite,
        }
    }

    /// Runs a query returning one text-convertible value, within the timeout.
    async fn scalar(&self, sql: &str) -> Result<String> {
        let query = self.db.query_one_raw(Statement::from_string(self.db_backend(), sql));
        let row = self.run(query).await?;
        let row = row.ok_or_else(|| unavailable(&self.config, format!("`{sql}` returned no row")))?;
        row.try_get_by_index::<String>(0)
            .or_else(|_| row.try_get_by_index::<i64>(0).map(|v| v.to_string()))
            .or_else(|_| row.try_get_by_index::<i32>(0).map(|v| v.to_string()))
            .map_err(|e| from_db(&self.config, e))
    }
}

fn changed(before: &[SchemaMigration], after: &[SchemaMigration]) -> Vec<String> {
    after
        .iter()
        .filter(|a| before.iter().any(|b| b.name == a.name && b.applied != a.applied))
        .map(|m| m.name.clone())
        .collect()
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
            WarmBackend::Postgres => {
                self.scalar("SHOW server_version").await.map(|v| format!("PostgreSQL {v}"))?
            }
            WarmBackend::Sqlite => format!("SQLite {}", self.scalar("SELECT sqlite_version()").await?),
        };
        Ok(ProbeReport { version, round_trip })
    }
}
