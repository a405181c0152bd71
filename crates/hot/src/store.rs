//! The connection to Redis and the health probe.

use std::time::Instant;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tierstore_model::{Endpoint, HealthProbe, ProbeReport, Result};

use crate::config::HotConfig;
use crate::error::{from_redis, unavailable};

/// Position state in Redis. Cheap to clone: clones share one multiplexed connection.
#[derive(Clone)]
pub struct HotStore {
    conn: ConnectionManager,
    config: HotConfig,
}

impl std::fmt::Debug for HotStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotStore").field("config", &self.config).finish_non_exhaustive()
    }
}

impl HotStore {
    /// Connects and checks the server answers within the configured timeout.
    ///
    /// The connection reconnects by itself after the server restarts; while it is down every
    /// call fails with `Unavailable` within the timeout.
    pub async fn connect(config: HotConfig) -> Result<Self> {
        config.validate()?;
        let client = redis::Client::open(config.url.expose().as_str()).map_err(|e| from_redis(&config, e))?;
        let timeout = config.timeout();
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_min_delay(std::time::Duration::from_millis(20))
            .set_max_delay(timeout / 4);
        let conn = ConnectionManager::new_lazy_with_config(client, manager_config)
            .map_err(|e| from_redis(&config, e))?;
        let store = HotStore { conn, config };
        store.ping().await?;
        Ok(store)
    }

    /// The configuration in use.
    pub fn config(&self) -> &HotConfig {
        &self.config
    }

    /// Runs one command with the configured timeout on top of the driver's own.
    async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T> {
        let mut conn = self.conn.clone();
        match tokio::time::timeout(self.config.timeout(), cmd.query_async(&mut conn)).await {
            Ok(r) => r.map_err(|e| from_redis(&self.config, e)),
            Err(_) => {
                Err(unavailable(&self.config, format!("no answer within {} ms", self.config.timeout_ms)))
            }
        }
    }

    async fn ping(&self) -> Result<()> {
        let _: String = self.run(&redis::cmd("PING")).await?;
        Ok(())
    }
}

#[async_trait]
impl HealthProbe for HotStore {
    fn endpoint(&self) -> Endpoint {
        self.config.endpoint()
    }

    async fn probe(&self) -> Result<ProbeReport> {
        let start = Instant::now();
        self.ping().await?;
        let round_trip = start.elapsed();
        let mut info_cmd = redis::cmd("INFO");
        info_cmd.arg("server");
        let info: String = self.run(&info_cmd).await?;
        let version = info
            .lines()
            .find_map(|l| l.strip_prefix("redis_version:"))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        Ok(ProbeReport { version, round_trip })
    }
}
