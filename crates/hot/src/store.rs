//! The connection, the health probe, and the namespace marker that tells "current" from
//! "lost" or "stale".
//!
//! Every account string carries the epoch it was seeded in; the marker `<ns>:epoch` holds the
//! namespace's current epoch and whether a rehydration is running. Reads and every script
//! compare the two and refuse a mismatch with [`StoreError::NotSeeded`], so neither a lost
//! account (no string), a lost namespace (no marker), nor a stale string (an old snapshot, a
//! replica that lagged a failover, an account a rehydration has not reached yet) is ever
//! served as current.

use std::time::Instant;

use async_trait::async_trait;
use tierstore_model::deadline::within;
use tierstore_model::{AccountId, AccountPositions, Endpoint, HealthProbe, ProbeReport, Result, StoreError};

use crate::codec::{self, Epoch};
use crate::config::HotConfig;
use crate::conn::Conn;
use crate::error::{corrupt, from_redis};
use crate::keys;
use crate::scripts;

/// Position state in Redis. Cheap to clone: clones share one multiplexed connection.
#[derive(Clone)]
pub struct HotStore {
    pub(crate) conn: Conn,
    pub(crate) config: HotConfig,
    pub(crate) endpoint: Endpoint,
}

impl std::fmt::Debug for HotStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotStore").field("config", &self.config).finish_non_exhaustive()
    }
}

/// What the namespace marker says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceStatus {
    /// No marker: Redis holds nothing this deployment wrote — a new deployment, or the data is
    /// gone (restart without persistence, flush, failover to an empty replica). Either way the
    /// state must be seeded from the legacy tier; every account is refused until then.
    Missing,
    /// Seeded and serving in this epoch.
    Ready(Epoch),
    /// Being rehydrated into this epoch: accounts already seeded in it are served, the others
    /// are refused until the rehydration reaches them (or a retry does).
    Rehydrating(Epoch),
}

impl NamespaceStatus {
    /// Reads a marker value, `"<epoch> ready"` or `"<epoch> rehydrating"`.
    pub(crate) fn parse(raw: Option<&str>) -> std::result::Result<NamespaceStatus, String> {
        let Some(raw) = raw else { return Ok(NamespaceStatus::Missing) };
        match raw.split_once(' ') {
            Some((e, "ready")) if Epoch::is_valid(e) => Ok(NamespaceStatus::Ready(Epoch(e.to_owned()))),
            Some((e, "rehydrating")) if Epoch::is_valid(e) => {
                Ok(NamespaceStatus::Rehydrating(Epoch(e.to_owned())))
            }
            _ => Err(format!("namespace marker {raw:?} is not \"<epoch> ready|rehydrating\"")),
        }
    }

    /// The current epoch, if there is one.
    pub fn epoch(&self) -> Option<&Epoch> {
        match self {
            NamespaceStatus::Missing => None,
            NamespaceStatus::Ready(e) | NamespaceStatus::Rehydrating(e) => Some(e),
        }
    }
}

fn marker_value(epoch: &Epoch, state: &str) -> String {
    format!("{epoch} {state}")
}

impl HotStore {
    /// Connects and checks the server answers within the configured timeout.
    ///
    /// The connection reconnects by itself after the server restarts; while it is down every
    /// call fails with `Unavailable` within the timeout.
    pub async fn connect(config: HotConfig) -> Result<Self> {
        config.validate()?;
        let endpoint = config.endpoint();
        let conn = within(&endpoint, config.timeout(), async {
            Conn::open(&config).await.map_err(|e| from_redis(&config, e))
        })
        .await?;
        let store = HotStore { conn, config, endpoint };
        store.ping().await?;
        Ok(store)
    }

    /// The configuration in use.
    pub fn config(&self) -> &HotConfig {
        &self.config
    }

    /// Runs one command within the configured timeout.
    pub(crate) async fn run<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T> {
        within(&self.endpoint, self.config.timeout(), async {
            self.conn.query(cmd).await.map_err(|e| from_redis(&self.config, e))
        })
        .await
    }

    async fn ping(&self) -> Result<()> {
        let _: String = self.run(&redis::cmd("PING")).await?;
        Ok(())
    }

    fn marker_key(&self) -> String {
        keys::epoch_key(&self.config.namespace)
    }

    /// Reads the namespace marker.
    pub async fn namespace_status(&self) -> Result<NamespaceStatus> {
        let raw: Option<String> = self.run(redis::cmd("GET").arg(self.marker_key())).await?;
        NamespaceStatus::parse(raw.as_deref()).map_err(|reason| corrupt(&self.config, "epoch", reason))
    }

    /// Seeds the namespace in a new epoch from the given accounts' state (the legacy tier's):
    /// [`HotStore::begin_rehydration`], [`Rehydration::seed`] for each, [`Rehydration::finish`].
    /// Every state is validated first, so invalid input writes nothing. If it fails part way,
    /// accounts not yet seeded stay refused; calling it again starts over in a fresh epoch.
    /// Returns the new epoch.
    pub async fn rehydrate(&self, accounts: &[(AccountId, AccountPositions)]) -> Result<Epoch> {
        let rounded: Vec<(AccountId, AccountPositions)> =
            accounts.iter().map(|(a, s)| Ok((a.clone(), s.rounded()?))).collect::<Result<_>>()?;
        let r = self.begin_rehydration().await?;
        // Concurrent requests on the multiplexed connection go out pipelined.
        futures::future::try_join_all(rounded.iter().map(|(a, state)| r.seed(a, state))).await?;
        let epoch = r.finish().await?;
        tracing::info!(namespace = %self.config.namespace, epoch = %epoch, accounts = accounts.len(), "hot tier rehydrated");
        Ok(epoch)
    }

    /// Starts a rehydration in a fresh epoch: from now on every account string of an earlier
    /// epoch is refused as stale until it is seeded again.
    pub async fn begin_rehydration(&self) -> Result<Rehydration<'_>> {
        let epoch = Epoch::random();
        self.run::<()>(redis::cmd("SET").arg(self.marker_key()).arg(marker_value(&epoch, "rehydrating")))
            .await?;
        Ok(Rehydration { store: self, epoch })
    }

    /// The epoch to seed single accounts in: the marker's, or a new ready one if there is
    /// none (a new deployment's first account, or a namespace Redis lost).
    pub(crate) async fn current_epoch(&self) -> Result<Epoch> {
        if let Some(e) = self.namespace_status().await?.epoch() {
            return Ok(e.clone());
        }
        let epoch = Epoch::random();
        let set: Option<String> = self
            .run(redis::cmd("SET").arg(self.marker_key()).arg(marker_value(&epoch, "ready")).arg("NX"))
            .await?;
        if set.is_some() {
            return Ok(epoch);
        }
        // Someone else set it first.
        self.namespace_status().await?.epoch().cloned().ok_or_else(|| {
            StoreError::conflict("namespace", &self.config.namespace, "epoch marker vanished while being set")
        })
    }

    /// Writes an account's whole state in `epoch` (seeding it) and lists the account. `state`
    /// must be rounded.
    pub(crate) async fn seed_in(
        &self,
        account: &AccountId,
        state: &AccountPositions,
        epoch: &Epoch,
    ) -> Result<()> {
        let blob = codec::encode(epoch, state);
        // One SET replaces the whole state atomically: this is how an account is seeded.
        self.run::<()>(
            redis::cmd("SET")
                .arg(keys::AccountKeys::new(&self.config.namespace, account).positions)
                .arg(blob),
        )
        .await?;
        let _: i64 = self
            .run(redis::cmd("SADD").arg(keys::accounts_key(&self.config.namespace)).arg(account.as_str()))
            .await?;
        Ok(())
    }
}

/// A rehydration in progress (see [`HotStore::rehydrate`]). Dropping it unfinished leaves the
/// namespace rehydrating: accounts seeded so far are served, the rest refused, and a new
/// rehydration can start at any time.
#[derive(Debug)]
pub struct Rehydration<'a> {
    store: &'a HotStore,
    epoch: Epoch,
}

impl Rehydration<'_> {
    /// The epoch being seeded.
    pub fn epoch(&self) -> &Epoch {
        &self.epoch
    }

    /// Replaces one account's state in this epoch.
    pub async fn seed(&self, account: &AccountId, state: &AccountPositions) -> Result<()> {
        self.store.seed_in(account, &state.rounded()?, &self.epoch).await
    }

    /// Marks the namespace ready in this epoch — unless another rehydration has started
    /// since, which is then the one to finish (a conflict).
    pub async fn finish(self) -> Result<Epoch> {
        let store = self.store;
        let mut inv = scripts::MARKER_SWAP.prepare_invoke();
        let key = store.marker_key();
        inv.key(&key).arg(marker_value(&self.epoch, "rehydrating")).arg(marker_value(&self.epoch, "ready"));
        let swapped: i64 = within(&store.endpoint, store.config.timeout(), async {
            store.conn.invoke(&inv).await.map_err(|e| from_redis(&store.config, e))
        })
        .await?;
        if swapped != 1 {
            return Err(StoreError::conflict(
                "namespace",
                &store.config.namespace,
                format!("another rehydration replaced epoch {} before it finished", self.epoch),
            ));
        }
        Ok(self.epoch)
    }
}

#[async_trait]
impl HealthProbe for HotStore {
    fn endpoint(&self) -> Endpoint {
        self.endpoint.clone()
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
