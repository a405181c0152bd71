//! A database tier as the composed store sees it: a connection made on first use, whether it
//! is serving, and the outbox of the writes it missed.
//!
//! The one rule that keeps replay correct lives here: while the outbox holds anything, or the
//! tier has failed and not yet recovered, every write for the tier is queued behind what is
//! already there, never sent around it. The serving flag and the outbox share one lock, so
//! "serving again" is declared only when the outbox is seen empty under that lock.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

use futures::future::BoxFuture;
use tierstore_model::{AccountId, Result, StoreError, Tier};

use crate::outbox::{Outbox, OutboxEntry};
use crate::tier_write::TierWrite;

/// A connection made on first use and kept; a failed attempt is retried on the next call, so
/// a store opens while a database is down.
pub(crate) struct Lazy<T> {
    cell: tokio::sync::OnceCell<T>,
    connect: Box<dyn Fn() -> BoxFuture<'static, Result<T>> + Send + Sync>,
}

impl<T> Lazy<T> {
    pub(crate) fn new(connect: impl Fn() -> BoxFuture<'static, Result<T>> + Send + Sync + 'static) -> Self {
        Lazy { cell: tokio::sync::OnceCell::new(), connect: Box::new(connect) }
    }

    pub(crate) async fn get(&self) -> Result<&T> {
        self.cell.get_or_try_init(|| (self.connect)()).await
    }

    /// The connection, if one has been made.
    pub(crate) fn connected(&self) -> Option<&T> {
        self.cell.get()
    }
}

/// Serving state and outbox of one tier, under one lock.
pub(crate) struct Queue {
    pub(crate) outbox: Outbox,
    /// Writes go straight to the tier and (in db_first) reads are served by it.
    pub(crate) serving: bool,
    /// Accounts whose hot-tier state must be rebuilt from the files.
    pub(crate) heal: BTreeSet<AccountId>,
}

/// One database tier behind the composed store.
pub(crate) struct Secondary<T> {
    pub(crate) tier: Tier,
    pub(crate) store: Lazy<T>,
    pub(crate) queue: Arc<Mutex<Queue>>,
    /// Wakes the tier's recovery task.
    pub(crate) wake: tokio::sync::Notify,
    /// A fallback alert went out and no recovery alert since.
    pub(crate) fell_back: std::sync::atomic::AtomicBool,
}

impl<T> Secondary<T> {
    /// Opens the tier's outbox in `dir`. A tier with writes left from an earlier run starts
    /// out of service, so they are replayed before anything else reaches it.
    pub(crate) fn open(tier: Tier, store: Lazy<T>, dir: &std::path::Path) -> Result<Self> {
        let outbox = Outbox::open(dir)?;
        let serving = outbox.depth() == 0;
        Ok(Secondary {
            tier,
            store,
            queue: Arc::new(Mutex::new(Queue { outbox, serving, heal: BTreeSet::new() })),
            wake: tokio::sync::Notify::new(),
            fell_back: std::sync::atomic::AtomicBool::new(false),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding the lock leaves nothing half-done in memory that matters:
        // the outbox's own state is updated only after its file operations succeed.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn serving(&self) -> bool {
        self.lock().serving
    }

    pub(crate) fn depth(&self) -> u64 {
        self.lock().outbox.depth()
    }

    /// Takes the tier out of service; returns whether it was serving.
    pub(crate) fn stop_serving(&self) -> bool {
        let was = std::mem::replace(&mut self.lock().serving, false);
        self.wake.notify_one();
        was
    }

    /// Marks an account's hot state for rebuilding and takes the tier out of service.
    pub(crate) fn heal(&self, account: &AccountId) -> bool {
        let was = {
            let mut q = self.lock();
            q.heal.insert(account.clone());
            std::mem::replace(&mut q.serving, false)
        };
        self.wake.notify_one();
        was
    }

    /// Queues a write behind everything already queued (appended and fsynced before this
    /// returns) and keeps the tier out of service until the outbox drains.
    pub(crate) async fn enqueue(&self, write: &TierWrite) -> Result<u64> {
        let bytes = write.encode()?;
        let queue = Arc::clone(&self.queue);
        let seq = tokio::task::spawn_blocking(move || {
            let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
            q.serving = false;
            q.outbox.push(&bytes)
        })
        .await
        .map_err(|e| StoreError::invalid("outbox", "push", format!("the writing task failed: {e}")))??;
        self.wake.notify_one();
        Ok(seq)
    }

    /// Up to `limit` queued writes, oldest first.
    pub(crate) async fn pending(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        let queue = Arc::clone(&self.queue);
        tokio::task::spawn_blocking(move || {
            queue.lock().unwrap_or_else(|p| p.into_inner()).outbox.pending(limit)
        })
        .await
        .map_err(|e| StoreError::invalid("outbox", "read", format!("the reading task failed: {e}")))?
    }

    /// Acknowledges writes through `seq`; with nothing left queued (and no account to heal)
    /// the tier serves again. Returns whether it does.
    pub(crate) async fn ack(&self, seq: Option<u64>, healed: BTreeSet<AccountId>) -> Result<bool> {
        let queue = Arc::clone(&self.queue);
        tokio::task::spawn_blocking(move || {
            let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(seq) = seq {
                q.outbox.ack(seq)?;
            }
            for a in &healed {
                q.heal.remove(a);
            }
            if q.outbox.depth() == 0 && q.heal.is_empty() {
                q.serving = true;
            }
            Ok(q.serving)
        })
        .await
        .map_err(|e| StoreError::invalid("outbox", "ack", format!("the acknowledging task failed: {e}")))?
    }
}
