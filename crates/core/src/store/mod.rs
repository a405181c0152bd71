//! The composed store: one API over every tier, routed by the migration phase.
//!
//! | mode         | reads from                         | writes to                              |
//! |--------------|------------------------------------|----------------------------------------|
//! | `file`       | the files                          | the files                              |
//! | `dual_write` | the files                          | the files, then the databases          |
//! | `db_first`   | the databases (files on a timeout) | the files, then the databases          |
//!
//! The files are written in every mode and a call fails if they refuse, so the files always
//! hold every completed write: a rollback is a switch, never a copy, and the hot tier can
//! always be rebuilt from them. Every database write goes through the tier's durable outbox
//! ([`crate::outbox`]), a write-ahead log: position writes and trade appends are pushed right
//! after their file write (a trade needs the ordinal its journal append gives it), bars and
//! asset points right before theirs (their replay sends the keys as the files hold them).
//! Redis gets its write within the call while it serves; ClickHouse's writes are sent by a
//! background sender, consecutive writes of a kind as one insert, and a db_first read of
//! ClickHouse first waits (within its deadline) for the writes pushed before it, else the
//! files answer. A write that fails or times out stays in the outbox and a background task
//! replays it when the tier answers again; until its outbox drains, a tier takes new writes
//! only through the outbox and serves no reads. [`Store::close`] waits for the writes taken
//! to arrive; a dropped store leaves them in the outbox for the next start. Position
//! writes of one account are serialised (files and Redis together), which is what lets the hot
//! tier's outbox be drained by rebuilding the accounts it names from the files instead of
//! replaying the writes one by one (see `recovery`).
//!
//! The phase is read from the warm tier's migration state when a warm tier is configured,
//! polled every `store.mode_poll_ms`, and cached in the outbox directory for a start while the
//! warm tier is down; otherwise it is the configuration's `mode`. Accounts, strategies,
//! parameters and users live only in the warm tier, in every mode.

mod recovery;
mod roles;
mod secondary;

pub use roles::SourcedReads;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use tierstore_cool::CoolStore;
use tierstore_hot::HotStore;
use tierstore_legacy::LegacyStore;
use tierstore_model::{AccountId, Clock, Result, StorageMode, StoreError, SystemClock, Tier, TradeDate};
use tierstore_warm::WarmStore;
use tokio::sync::{OwnedMutexGuard, watch};

use crate::alerts::{Alert, AlertKind, Alerts};
use crate::config::Config;
use crate::tier_write::TierWrite;
use secondary::{Lazy, Secondary};

/// A value and the tier that answered it: in `db_first` a read that found its database
/// silent says [`Tier::Legacy`].
#[derive(Debug, Clone, PartialEq)]
pub struct Sourced<T> {
    /// What was read.
    pub value: T,
    /// Which tier answered.
    pub source: Tier,
}

/// The marker a running store keeps in its outbox directory.
const RUNNING: &str = "running";

/// The marker that ClickHouse must catch up with the files: left by a start that found the
/// last process's [`RUNNING`] marker, or by a write whose outbox push failed; removed once
/// the catch-up has queued what ClickHouse lacks.
const CATCH_UP: &str = "catch-up";

/// How long the store waits, and for what.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadlines {
    pub(crate) read: Duration,
    pub(crate) write: Duration,
    pub(crate) mode_poll: Duration,
    pub(crate) max_backoff: Duration,
}

/// One storage API for strategy code; cheap to clone (clones share connections, outboxes and
/// background tasks, which stop when the last clone is dropped).
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
    _tasks: Arc<Tasks>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("mode", &self.mode()).finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) legacy: LegacyStore,
    pub(crate) hot: Option<Secondary<HotStore>>,
    pub(crate) cool: Option<Secondary<CoolStore>>,
    pub(crate) warm: Option<Lazy<WarmStore>>,
    pub(crate) accounts: Vec<AccountId>,
    pub(crate) mode: watch::Sender<StorageMode>,
    pub(crate) mode_cache: PathBuf,
    pub(crate) deadlines: Deadlines,
    pub(crate) alerts: Alerts,
    /// ClickHouse must catch up with the files before it serves (see `recovery`).
    pub(crate) cool_catch_up: std::sync::atomic::AtomicBool,
    /// The [`CATCH_UP`] marker's path.
    pub(crate) catch_up_marker: PathBuf,
    /// Catch-ups asked for so far: a catch-up removes the marker only if none was asked for
    /// while it ran.
    pub(crate) catch_up_asked: std::sync::atomic::AtomicU64,
    /// Kline writes, one at a time (files, outbox and ClickHouse in one order per bar).
    pub(crate) kline_lock: tokio::sync::Mutex<()>,
    locks: Mutex<HashMap<AccountId, Arc<tokio::sync::Mutex<()>>>>,
}

/// When the last [`Store`] clone goes: aborts the background tasks, records which outbox
/// writes reached their tier, and removes the marker that says a process is running on the
/// outbox.
struct Tasks {
    handles: Vec<tokio::task::JoinHandle<()>>,
    running: Option<PathBuf>,
    inner: Arc<Inner>,
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.handles {
            t.abort();
        }
        // The marker first: once the outboxes' locks are released, the next process may
        // write its own.
        if let Some(marker) = &self.running
            && let Err(e) = std::fs::remove_file(marker)
        {
            tracing::warn!(path = %marker.display(), error = %e, "cannot remove the running marker");
        }
        if let Some(hot) = &self.inner.hot {
            hot.close();
        }
        if let Some(cool) = &self.inner.cool {
            cool.close();
        }
    }
}

impl Store {
    /// Opens the store the configuration describes: the legacy files (required: they are
    /// written in every mode), and Redis, the warm database and ClickHouse where configured,
    /// each connected on first use so a tier that is down does not stop the start. Must be
    /// called inside a Tokio runtime; background tasks poll the phase and heal tiers.
    pub async fn open(config: &Config) -> Result<Store> {
        Store::open_with_clock(config, Arc::new(SystemClock)).await
    }

    /// [`Store::open`] with "now" read from `clock` (market dates in tests).
    pub async fn open_with_clock(config: &Config, clock: Arc<dyn Clock>) -> Result<Store> {
        let legacy_config = config.legacy_config().filter(|l| !l.accounts.is_empty()).ok_or_else(|| {
            StoreError::invalid(
                "accounts",
                &config.origin,
                "the store writes the legacy files in every mode: give each account its legacy_dir",
            )
        })?;
        let accounts: Vec<AccountId> = legacy_config.accounts.keys().cloned().collect();
        let legacy = LegacyStore::open(legacy_config).await?.with_clock(Arc::clone(&clock));
        let outbox_dir = config
            .store
            .outbox_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_OUTBOX_DIR));
        let hot = match &config.redis {
            Some(c) => {
                let c = c.clone();
                let lazy = Lazy::new(move || HotStore::connect(c.clone()).boxed());
                Some(Secondary::open(Tier::Hot, lazy, &outbox_dir.join("hot"))?)
            }
            None => None,
        };
        let cool = match &config.clickhouse {
            Some(_) => {
                let c = crate::cool::cool_config(config)?;
                let lazy = Lazy::new(move || CoolStore::connect(c.clone()).boxed());
                Some(Secondary::open(Tier::Cool, lazy, &outbox_dir.join("cool"))?)
            }
            None => None,
        };
        let warm = config.warm.clone().map(|c| {
            let clock = Arc::clone(&clock);
            Lazy::new(move || {
                let (c, clock) = (c.clone(), Arc::clone(&clock));
                async move { Ok(WarmStore::open(c).await?.with_clock(clock)) }.boxed()
            })
        });
        let deadlines = Deadlines {
            read: Duration::from_millis(config.store.read_deadline_ms),
            write: Duration::from_millis(config.store.write_deadline_ms),
            mode_poll: Duration::from_millis(config.store.mode_poll_ms),
            max_backoff: Duration::from_millis(config.store.probe_max_backoff_ms),
        };
        let mode_cache = outbox_dir.join("mode");
        let mode = match &warm {
            Some(w) => initial_mode(w, &mode_cache).await?,
            None => config.mode,
        };
        tracing::info!(%mode, "tierstore opened");
        let inner = Arc::new(Inner {
            legacy,
            hot,
            cool,
            warm,
            accounts,
            mode: watch::Sender::new(mode),
            mode_cache,
            deadlines,
            alerts: Alerts::new(config.alerts.clone()),
            cool_catch_up: std::sync::atomic::AtomicBool::new(false),
            catch_up_marker: outbox_dir.join(CATCH_UP),
            catch_up_asked: std::sync::atomic::AtomicU64::new(0),
            kline_lock: tokio::sync::Mutex::new(()),
            locks: Mutex::default(),
        });
        if mode != StorageMode::File {
            inner.rebuild_hot();
        }
        // The outboxes are locked: this process is the only one on them. A marker left by
        // the last one means it died without closing, maybe between a file write and the
        // outbox push that follows it; ClickHouse catches up with the files before it serves
        // (now, or when the databases are written again).
        let running = match (&inner.hot, &inner.cool) {
            (None, None) => None,
            _ => {
                let marker = outbox_dir.join(RUNNING);
                if marker.exists() {
                    inner.need_catch_up()?;
                }
                if inner.catch_up_marker.exists() && mode != StorageMode::File {
                    inner.catch_up_cool();
                }
                std::fs::write(&marker, std::process::id().to_string()).map_err(|e| {
                    StoreError::unavailable(
                        Tier::Legacy,
                        "outbox",
                        marker.display().to_string(),
                        e.to_string(),
                    )
                })?;
                Some(marker)
            }
        };
        let tasks = recovery::spawn(&inner);
        let tasks = Tasks { handles: tasks, running, inner: Arc::clone(&inner) };
        Ok(Store { inner, _tasks: Arc::new(tasks) })
    }

    /// The migration phase the store routes by now.
    pub fn mode(&self) -> StorageMode {
        *self.inner.mode.borrow()
    }

    /// A receiver that sees every phase change the store notices.
    pub fn mode_changes(&self) -> watch::Receiver<StorageMode> {
        self.inner.mode.subscribe()
    }

    /// Reads the phase from the warm tier now instead of waiting for the next poll; returns
    /// the phase in force afterwards.
    pub async fn refresh_mode(&self) -> Result<StorageMode> {
        self.inner.refresh_mode().await
    }

    /// Today's market date in the configured timezone (never the host's).
    pub fn market_today(&self) -> Result<TradeDate> {
        self.inner.legacy.market_today()
    }

    /// "All held days +1" for today's market date in the configured timezone.
    pub async fn increment_held_days_today(
        &self,
        account: &AccountId,
    ) -> Result<tierstore_model::IncrementOutcome> {
        let today = self.market_today()?;
        tierstore_model::PositionStore::increment_held_days(self, account, today).await
    }

    /// Writes waiting in a tier's outbox (`Tier::Hot` or `Tier::Cool`; 0 for any other).
    pub fn outbox_depth(&self, tier: Tier) -> u64 {
        match tier {
            Tier::Hot => self.inner.hot.as_ref().map_or(0, Secondary::depth),
            Tier::Cool => self.inner.cool.as_ref().map_or(0, Secondary::depth),
            _ => 0,
        }
    }

    /// Whether a tier takes writes directly and (in db_first) serves reads: configured, its
    /// outbox empty and its last call answered.
    pub fn serving(&self, tier: Tier) -> bool {
        match tier {
            Tier::Hot => self.inner.hot.as_ref().is_some_and(Secondary::serving),
            Tier::Cool => self.inner.cool.as_ref().is_some_and(Secondary::serving),
            Tier::Legacy => true,
            Tier::Warm => self.inner.warm.is_some(),
        }
    }

    /// Closes the store after the writes it took have reached their tiers, waiting up to
    /// `within` (ClickHouse's are sent in the background). Writes still waiting then stay in
    /// the outbox for the next start, and the error says how many. Dropping a store instead
    /// leaves whatever is still waiting the same way, without waiting. The store closes when
    /// its last clone goes: with other clones alive this only waits.
    pub async fn close(self, within: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + within;
        let hot = async {
            match &self.inner.hot {
                Some(hot) => self.wait_sent(hot, hot.last_pushed(), deadline).await,
                None => 0,
            }
        };
        let cool = async {
            match &self.inner.cool {
                Some(cool) => self.wait_sent(cool, cool.last_pushed(), deadline).await,
                None => 0,
            }
        };
        let (h, c) = tokio::join!(hot, cool);
        let left = h + c;
        drop(self);
        if left > 0 {
            return Err(StoreError::unavailable(
                Tier::Legacy,
                "outbox",
                "",
                format!(
                    "{left} write(s) had not reached their tier; they wait in the outbox for the next start"
                ),
            ));
        }
        Ok(())
    }

    async fn wait_sent<T>(&self, sec: &Secondary<T>, through: u64, deadline: tokio::time::Instant) -> u64 {
        sec.wake.notify_one();
        match tokio::time::timeout_at(deadline, sec.caught_up(through)).await {
            Ok(()) => 0,
            Err(_) => sec.depth(),
        }
    }

    /// The accounts the store writes (those with a legacy directory).
    pub fn accounts(&self) -> &[AccountId] {
        &self.inner.accounts
    }
}

/// The phase from the warm tier; the cached one if it does not answer.
async fn initial_mode(warm: &Lazy<WarmStore>, cache: &Path) -> Result<StorageMode> {
    match read_phase(warm).await {
        Ok(mode) => {
            write_mode_cache(cache, mode);
            Ok(mode)
        }
        Err(e) => match std::fs::read_to_string(cache).ok().and_then(|s| s.trim().parse().ok()) {
            Some(mode) => {
                tracing::warn!(error = %e, %mode, "the warm tier does not answer: using the phase last read from it");
                Ok(mode)
            }
            None => Err(e),
        },
    }
}

async fn read_phase(warm: &Lazy<WarmStore>) -> Result<StorageMode> {
    let w = warm.get().await?;
    tierstore_model::MigrationStateStore::phase(w).await
}

fn write_mode_cache(cache: &Path, mode: StorageMode) {
    // Best effort: a start with the warm tier down falls back to it, and has the
    // configuration's error otherwise.
    let tmp = cache.with_extension("tmp");
    let written = std::fs::write(&tmp, mode.as_str()).and_then(|()| std::fs::rename(&tmp, cache));
    if let Err(e) = written {
        tracing::warn!(path = %cache.display(), error = %e, "cannot cache the migration phase");
    }
}

impl Inner {
    pub(crate) fn mode(&self) -> StorageMode {
        *self.mode.borrow()
    }

    fn writes_databases(&self) -> bool {
        self.mode() != StorageMode::File
    }

    async fn refresh_mode(&self) -> Result<StorageMode> {
        let Some(warm) = &self.warm else { return Ok(self.mode()) };
        let mode = read_phase(warm).await?;
        let old = self.mode();
        if old != mode {
            if old == StorageMode::File {
                // Redis missed every position write made while only the files were written:
                // out of service until rebuilt, before the first write of the new phase.
                self.rebuild_hot();
                if self.catch_up_marker.exists() {
                    self.catch_up_cool();
                }
            }
            self.mode.send_replace(mode);
            tracing::info!(from = %old, to = %mode, "storage mode switched");
            write_mode_cache(&self.mode_cache, mode);
        }
        Ok(mode)
    }

    /// Has the recovery task rebuild every account's hot state from the files before Redis
    /// serves again: at a start (a write may have reached the files and not the outbox when
    /// the last process died) and when the databases start being written again.
    fn rebuild_hot(&self) {
        if let Some(hot) = &self.hot {
            hot.heal(&self.accounts);
        }
    }

    /// Records, durably, that ClickHouse must catch up with the files.
    pub(crate) fn need_catch_up(&self) -> Result<()> {
        self.catch_up_asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        std::fs::write(&self.catch_up_marker, b"").map_err(|e| {
            StoreError::unavailable(
                Tier::Legacy,
                "outbox",
                self.catch_up_marker.display().to_string(),
                e.to_string(),
            )
        })
    }

    /// Has the recovery task bring ClickHouse up to the files (trades and asset points)
    /// before it serves again.
    pub(crate) fn catch_up_cool(&self) {
        if let Some(cool) = &self.cool {
            self.cool_catch_up.store(true, std::sync::atomic::Ordering::SeqCst);
            cool.stop_serving();
        }
    }

    /// The account's write lock: its files and its outbox records are written under it
    /// together. An account this store does not write gets a lock of its own, not kept (the
    /// files refuse it).
    pub(crate) async fn lock_account(&self, account: &AccountId) -> OwnedMutexGuard<()> {
        let lock = if self.accounts.contains(account) {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(locks.entry(account.clone()).or_default())
        } else {
            Arc::default()
        };
        lock.lock_owned().await
    }

    /// Every listed account's lock, taken in order (so two callers cannot deadlock).
    pub(crate) async fn lock_accounts(&self, accounts: &BTreeSet<AccountId>) -> Vec<OwnedMutexGuard<()>> {
        let mut guards = Vec::with_capacity(accounts.len());
        for a in accounts {
            guards.push(self.lock_account(a).await);
        }
        guards
    }

    /// Sends a write to a database tier: into its outbox first (so a process killed before
    /// the tier has it finds it on the next start), then, while the tier serves, to the tier
    /// within the write deadline. A tier out of service gets it from the outbox when it is
    /// back. An error means the outbox could not take the write.
    async fn write_secondary<T>(
        &self,
        sec: &Secondary<T>,
        write: TierWrite,
        apply: impl AsyncFnOnce(&T, &TierWrite) -> Result<()>,
    ) -> Result<()> {
        let (seq, serving) = sec.enqueue(&write).await?;
        if serving {
            self.send(sec, seq, &write, apply).await;
        }
        Ok(())
    }

    /// Sends outbox record `seq` to its serving tier within the write deadline: done when
    /// the tier took it, else the tier goes out of service and the record waits.
    pub(crate) async fn send<T>(
        &self,
        sec: &Secondary<T>,
        seq: u64,
        write: &TierWrite,
        apply: impl AsyncFnOnce(&T, &TierWrite) -> Result<()>,
    ) {
        let sent =
            tokio::time::timeout(self.deadlines.write, async { apply(sec.store.get().await?, write).await })
                .await;
        match sent {
            Ok(Ok(())) => sec.applied(seq),
            Ok(Err(e)) => self.out_of_service(sec, write.position_account(), &e),
            Err(_) => self.out_of_service(sec, write.position_account(), &self.timed_out(sec.tier, "write")),
        }
    }

    /// Takes a tier out of service after `error`, alerting on the change.
    pub(crate) fn out_of_service<T>(
        &self,
        sec: &Secondary<T>,
        account: Option<&AccountId>,
        error: &StoreError,
    ) {
        match (error.needs_rehydrate(), account) {
            (true, Some(a)) if self.accounts.contains(a) => {
                // The tier lost (or never had) an account we write: rebuilt, and said so.
                sec.lost.store(true, std::sync::atomic::Ordering::SeqCst);
                if sec.heal([a]) {
                    tracing::info!(tier = sec.tier.as_str(), error = %error, "rebuilding from the files");
                }
            }
            // An account this store does not write: the files answer for it (and refuse it),
            // and there is nothing of ours to rebuild.
            (true, _) => {}
            _ => {
                sec.stop_serving();
                self.fallback_alert(sec, error);
            }
        }
    }

    /// The fallback alert, once per outage of the tier (the recovery alert ends it).
    pub(crate) fn fallback_alert<T>(&self, sec: &Secondary<T>, error: &StoreError) {
        if !sec.fell_back.swap(true, std::sync::atomic::Ordering::SeqCst) {
            self.alerts.raise(Alert {
                kind: AlertKind::Fallback,
                tier: sec.tier,
                message: format!("{error}; reads come from the files and writes wait in the outbox"),
            });
        }
    }

    pub(crate) fn timed_out(&self, tier: Tier, what: &str) -> StoreError {
        let limit = if what == "read" { self.deadlines.read } else { self.deadlines.write };
        StoreError::unavailable(
            tier,
            tier.as_str(),
            "",
            format!("no answer to a {what} within {} ms", limit.as_millis()),
        )
    }

    /// A read routed by mode: in db_first from the tier while it serves, within the read
    /// deadline, else (and on a timeout or an unavailable tier) from the files.
    async fn read<T, R>(
        &self,
        sec: Option<&Secondary<T>>,
        account: Option<&AccountId>,
        db: impl AsyncFnOnce(&T) -> Result<R>,
        files: impl AsyncFnOnce(&LegacyStore) -> Result<R>,
    ) -> Result<Sourced<R>> {
        if let Some(sec) = sec.filter(|s| self.mode() == StorageMode::DbFirst && s.serving()) {
            let deadline = tokio::time::Instant::now() + self.deadlines.read;
            // ClickHouse's writes are sent in the background: the read waits for those pushed
            // before it, or the files (which hold them) answer.
            let waited = sec.tier != Tier::Cool
                || tokio::time::timeout_at(deadline, sec.caught_up(sec.last_pushed())).await.is_ok();
            if !waited {
                return Ok(Sourced { value: files(&self.legacy).await?, source: Tier::Legacy });
            }
            let got = tokio::time::timeout_at(deadline, async { db(sec.store.get().await?).await }).await;
            match got {
                Ok(Ok(value)) => return Ok(Sourced { value, source: sec.tier }),
                Ok(Err(e)) if e.falls_back() => self.out_of_service(sec, account, &e),
                Ok(Err(e)) => return Err(e),
                Err(_) => self.out_of_service(sec, account, &self.timed_out(sec.tier, "read")),
            }
        }
        Ok(Sourced { value: files(&self.legacy).await?, source: Tier::Legacy })
    }
}
