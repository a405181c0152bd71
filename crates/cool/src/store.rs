//! The ClickHouse client and the health probe.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use tierstore_model::deadline::within;
use tierstore_model::{Endpoint, HealthProbe, ProbeReport, Result};

use crate::config::CoolConfig;
use crate::error::from_clickhouse;
use crate::schema::ServerVersion;

/// The ClickHouse store. Cheap to clone: clones share one HTTP connection pool.
#[derive(Clone)]
pub struct CoolStore {
    /// Without a database: for probes and DDL that must work before the database exists.
    server: clickhouse::Client,
    /// Cluster mode: each shard, for its local tables.
    shards: Vec<clickhouse::Client>,
    config: CoolConfig,
    version: ServerVersion,
    /// The newest bar date seen per code: where "the last N bars" starts looking.
    latest: std::sync::Arc<
        std::sync::Mutex<std::collections::HashMap<tierstore_model::StockCode, tierstore_model::TradeDate>>,
    >,
}

impl std::fmt::Debug for CoolStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoolStore").field("config", &self.config).finish_non_exhaustive()
    }
}

impl CoolStore {
    /// Builds the client and checks the server answers within the configured timeout.
    pub async fn connect(config: CoolConfig) -> Result<Self> {
        config.validate()?;
        let server = client(&config, &config.url);
        let shards = config.shards.iter().map(|u| client(&config, u)).collect();
        let mut store = CoolStore {
            server,
            shards,
            config,
            version: ServerVersion { major: 0, minor: 0 },
            latest: Default::default(),
        };
        store.version = ServerVersion::parse(&store.version().await?);
        Ok(store)
    }

    /// The server's version, read at connect; what the DDL and queries gate on.
    pub fn server_version(&self) -> ServerVersion {
        self.version
    }

    /// Cluster mode: each shard's client (without a database); empty otherwise.
    pub(crate) fn shards(&self) -> &[clickhouse::Client] {
        &self.shards
    }

    /// The client without a database (tables are always named `<database>.<table>`).
    pub(crate) fn server(&self) -> &clickhouse::Client {
        &self.server
    }

    /// The client with the configured database selected, for inserts (the crate quotes an
    /// insert's table name whole, so `db.table` cannot be spelled there). Only valid once the
    /// database exists: 18.16 refuses any request naming a missing database.
    pub(crate) fn in_database(&self) -> clickhouse::Client {
        let client = self.server.clone().with_database(&self.config.database);
        if self.config.cluster.is_some() {
            // A Distributed table queues inserts and forwards them later unless told to wait:
            // an acknowledged insert must be readable at once.
            return client.with_setting("insert_distributed_sync", "1");
        }
        client
    }

    /// Runs a short request within the configured timeout, mapping driver errors.
    pub(crate) async fn request<T>(
        &self,
        f: impl std::future::Future<Output = std::result::Result<T, clickhouse::error::Error>>,
    ) -> Result<T> {
        within(&self.config.endpoint(), self.config.timeout(), async {
            f.await.map_err(|e| from_clickhouse(&self.config, e))
        })
        .await
    }

    /// The next row of a streaming query, waiting at most the stream timeout for it: a server
    /// that stalls in the middle of a response is an error, never a hang.
    pub(crate) async fn next_row<T>(&self, cursor: &mut clickhouse::query::RowCursor<T>) -> Result<Option<T>>
    where
        T: clickhouse::RowOwned + clickhouse::RowRead,
    {
        within(&self.config.endpoint(), self.config.stream_timeout(), async {
            cursor.next().await.map_err(|e| from_clickhouse(&self.config, e))
        })
        .await
    }

    /// Where to start looking for the newest bars of `codes`: the newest bar date this store
    /// has seen for them if it has seen all of them, else the newest it has seen of any code
    /// (stocks trade on the same days); `None` before the first read.
    pub(crate) fn latest_hint(
        &self,
        codes: &[tierstore_model::StockCode],
    ) -> Option<tierstore_model::TradeDate> {
        let seen = self.latest.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let known: Vec<_> = codes.iter().map(|c| seen.get(c).copied()).collect();
        if known.iter().all(Option::is_some) {
            return known.into_iter().flatten().max();
        }
        seen.values().max().copied()
    }

    /// Records the newest date of bars just read.
    pub(crate) fn saw_latest(&self, code: tierstore_model::StockCode, date: tierstore_model::TradeDate) {
        let mut seen = self.latest.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let e = seen.entry(code).or_insert(date);
        *e = (*e).max(date);
    }

    /// The configuration in use.
    pub fn config(&self) -> &CoolConfig {
        &self.config
    }

    async fn version(&self) -> Result<String> {
        let q = self.server.query("SELECT version()").fetch_one::<String>();
        within(&self.config.endpoint(), self.config.timeout(), async {
            q.await.map_err(|e| from_clickhouse(&self.config, e))
        })
        .await
    }
}

#[async_trait]
impl HealthProbe for CoolStore {
    fn endpoint(&self) -> Endpoint {
        self.config.endpoint()
    }

    async fn probe(&self) -> Result<ProbeReport> {
        let start = Instant::now();
        let version = self.version().await?;
        Ok(ProbeReport { version, round_trip: start.elapsed() })
    }
}

/// A client of the server at `url` with the configuration's credentials, compression and
/// settings.
fn client(config: &CoolConfig, url: &tierstore_model::SecretUrl) -> clickhouse::Client {
    let mut c = clickhouse::Client::default()
        .with_url(CoolConfig::bare_url(url))
        .with_user(config.user_of(url))
        // 18.16 knows neither the validation format nor the settings it sends.
        .with_validation(false)
        // Without this, 18.16 reports an error in the middle of a stream as success.
        .with_setting("wait_end_of_query", "1");
    if let Some(p) = config.password_of(url) {
        c = c.with_password(p);
    }
    c = c.with_compression(match config.compression {
        crate::config::WireCompression::Lz4 => clickhouse::Compression::Lz4,
        crate::config::WireCompression::None => clickhouse::Compression::None,
    });
    for (name, value) in &config.settings {
        c = c.with_setting(name, value);
    }
    c
}

/// A write version that grows with every write of this process and with the clock across
/// processes: the newest write of a key wins when ReplacingMergeTree keeps the highest.
pub(crate) fn next_version() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_always_grow_across_threads() {
        let threads: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| (0..1000).map(|_| next_version()).collect::<Vec<_>>()))
            .collect();
        let per_thread: Vec<Vec<u64>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        for v in &per_thread {
            assert!(v.windows(2).all(|w| w[1] > w[0]), "each caller sees them grow");
        }
        let mut all: Vec<u64> = per_thread.concat();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 4000, "no version is handed out twice");
    }
}
