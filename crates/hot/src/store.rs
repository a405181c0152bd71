//! The connection, the health probe, and the namespace marker that tells "empty" from "lost".

use std::time::Instant;

use async_trait::async_trait;
use tierstore_model::{AccountId, AccountPositions, Endpoint, HealthProbe, ProbeReport, Result, StoreError};

use crate::config::HotConfig;
use crate::conn::Conn;
use crate::error::{from_redis, unavailable};
use crate::keys;

/// Position state in Redis. Cheap to clone: clones share one multiplexed connection.
#[derive(Clone)]
pub struct HotStore {
    pub(crate) conn: Conn,
    pub(crate) config: HotConfig,
}

impl std::fmt::Debug for HotStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotStore").field("config", &self.config).finish_non_exhaustive()
    }
}

/// A generation of a namespace's data: changes whenever the namespace is rehydrated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Epoch(pub String);

/// What the namespace marker says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceStatus {
    /// No marker: Redis holds nothing this deployment wrote — a new deployment, or the data is
    /// gone (restart without persistence, flush, failover to an empty replica). Either way the
    /// state must be seeded from the legacy tier; the tier refuses to read accounts as empty.
    Missing,
    /// Seeded and serving in this epoch.
    Ready(Epoch),
    /// Being rehydrated now; accounts not yet replaced are refused.
    Rehydrating(Epoch),
}

impl HotStore {
    /// Connects and checks the server answers within the configured timeout.
    ///
    /// The connection reconnects by itself after the server restarts; while it is down every
    /// call fails with `Unavailable` within the timeout.
    pub async fn connect(config: HotConfig) -> Result<Self> {
        config.validate()?;
        let conn = match tokio::time::timeout(config.timeout(), Conn::open(&config)).await {
            Ok(c) => c.map_err(|e| from_redis(&config, e))?,
            Err(_) => return Err(unavailable(&config, format!("no answer within {} ms", config.timeout_ms))),
        };
        let store = HotStore { conn, config };
        store.ping().await?;
        Ok(store)
    }

    /// The configuration in use.
    pub fn config(&self) -> &HotConfig {
        &self.config
    }

    /// Runs one command with the configured timeout on top of the driver's own.
    pub(crate) async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T> {
        self.bounded(self.conn.query(cmd)).await
    }

    /// Bounds a driver call by the configured timeout and maps its error.
    pub(crate) async fn bounded<T>(&self, call: impl Future<Output = redis::RedisResult<T>>) -> Result<T> {
        match tokio::time::timeout(self.config.timeout(), call).await {
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

    /// Reads the namespace marker.
    pub async fn namespace_status(&self) -> Result<NamespaceStatus> {
        let raw: Option<String> =
            self.run(redis::cmd("GET").arg(keys::epoch_key(&self.config.namespace))).await?;
        let Some(raw) = raw else { return Ok(NamespaceStatus::Missing) };
        let (epoch, state) = raw.split_once(' ').unwrap_or((raw.as_str(), "ready"));
        let epoch = Epoch(epoch.to_owned());
        Ok(if state == "rehydrating" {
            NamespaceStatus::Rehydrating(epoch)
        } else {
            NamespaceStatus::Ready(epoch)
        })
    }

    /// Seeds the namespace in a new epoch: marks it rehydrating, replaces every given
    /// account's state (the legacy tier's, for instance), then marks it ready. Accounts not
    /// given stay refused until seeded. Returns the new epoch.
    pub async fn rehydrate(&self, accounts: &[(AccountId, AccountPositions)]) -> Result<Epoch> {
        let epoch = Epoch(format!("{:016x}", rand::random::<u64>()));
        let key = keys::epoch_key(&self.config.namespace);
        self.run::<()>(redis::cmd("SET").arg(&key).arg(format!("{} rehydrating", epoch.0))).await?;
        // Concurrent requests on the multiplexed connection go out pipelined.
        futures::future::try_join_all(
            accounts.iter().map(|(a, state)| self.replace_in_epoch(a, state, &epoch)),
        )
        .await?;
        self.run::<()>(redis::cmd("SET").arg(&key).arg(format!("{} ready", epoch.0))).await?;
        tracing::info!(namespace = %self.config.namespace, epoch = %epoch.0, accounts = accounts.len(), "hot tier rehydrated");
        Ok(epoch)
    }

    /// The epoch to seed single accounts in: the marker's, or a new ready one if there is
    /// none (a new deployment's first account).
    pub(crate) async fn current_epoch(&self) -> Result<Epoch> {
        match self.namespace_status().await? {
            NamespaceStatus::Ready(e) | NamespaceStatus::Rehydrating(e) => Ok(e),
            NamespaceStatus::Missing => {
                let epoch = Epoch(format!("{:016x}", rand::random::<u64>()));
                let key = keys::epoch_key(&self.config.namespace);
                let set: Option<String> =
                    self.run(redis::cmd("SET").arg(&key).arg(format!("{} ready", epoch.0)).arg("NX")).await?;
                if set.is_some() {
                    return Ok(epoch);
                }
                // Someone else set it first.
                match self.namespace_status().await? {
                    NamespaceStatus::Ready(e) | NamespaceStatus::Rehydrating(e) => Ok(e),
                    NamespaceStatus::Missing => Err(StoreError::conflict(
                        "namespace",
                        &self.config.namespace,
                        "epoch marker vanished while being set",
                    )),
                }
            }
        }
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
        // One text from a single server; a map of node -> text from a cluster.
        let info: redis::Value = self.run(&info_cmd).await?;
        let mut texts = Vec::new();
        collect_text(&info, &mut texts);
        let mut versions: Vec<String> = texts
            .iter()
            .flat_map(|t| t.lines())
            .filter_map(|l| l.strip_prefix("redis_version:"))
            .map(|v| v.trim().to_owned())
            .collect();
        versions.sort();
        versions.dedup();
        let version = if versions.is_empty() { "unknown".to_owned() } else { versions.join(", ") };
        Ok(ProbeReport { version, round_trip })
    }
}

fn collect_text(v: &redis::Value, out: &mut Vec<String>) {
    match v {
        redis::Value::BulkString(b) => out.push(String::from_utf8_lossy(b).into_owned()),
        redis::Value::SimpleString(s) => out.push(s.clone()),
        redis::Value::VerbatimString { text, .. } => out.push(text.clone()),
        redis::Value::Array(items) | redis::Value::Set(items) => {
            items.iter().for_each(|i| collect_text(i, out))
        }
        redis::Value::Map(pairs) => pairs.iter().for_each(|(_, v)| collect_text(v, out)),
        _ => {}
    }
}
