//! A database tier as the composed store sees it: a connection made on first use, whether it
//! is serving, and the outbox of the writes it missed.
//!
//! The one rule that keeps replay correct lives here: while the outbox holds anything, or the
//! tier has failed and not yet recovered, every write for the tier is queued behind what is
//! already there, never sent around it. The serving flag and the outbox share one lock, so
//! "serving again" is declared only when the outbox is seen empty under that lock.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Every record up to this one reached the tier (the outbox's own acknowledgement lags
    /// behind it until [`Secondary::flush`]).
    applied: u64,
    /// Records beyond `applied` that reached the tier out of order (concurrent writes).
    applied_later: BTreeSet<u64>,
}

impl Queue {
    /// Records that have not reached the tier.
    pub(crate) fn waiting(&self) -> u64 {
        self.outbox.last() - self.applied - self.applied_later.len() as u64
    }

    fn mark_applied(&mut self, seq: u64) {
        if seq > self.applied {
            self.applied_later.insert(seq);
        }
        while self.applied_later.remove(&(self.applied + 1)) {
            self.applied += 1;
        }
    }

    fn serve_if_done(&mut self, mirror: &AtomicBool) -> bool {
        if self.waiting() == 0 && self.heal.is_empty() {
            self.serving = true;
            mirror.store(true, Ordering::SeqCst);
        }
        self.serving
    }

    /// Takes the tier out of service (and its mirror with it); returns whether it was serving.
    fn stop(&mut self, mirror: &AtomicBool) -> bool {
        mirror.store(false, Ordering::SeqCst);
        std::mem::replace(&mut self.serving, false)
    }
}

/// One database tier behind the composed store.
///
/// Its outbox is a write-ahead log: every write for the tier is pushed (and fsynced) before
/// it is sent, and counts as done only once the tier took it, so a process killed between
/// the two finds it on the next start. Acknowledgements reach the disk lazily
/// ([`Secondary::flush`]): after a crash a few writes that had arrived are sent again, which
/// the drain makes harmless (see `recovery`).
pub(crate) struct Secondary<T> {
    pub(crate) tier: Tier,
    pub(crate) store: Lazy<T>,
    pub(crate) queue: Arc<Mutex<Queue>>,
    /// Wakes the tier's recovery task.
    pub(crate) wake: tokio::sync::Notify,
    /// A fallback alert went out and no recovery alert since.
    pub(crate) fell_back: AtomicBool,
    /// The tier answered that it holds no current copy of an account we write (Redis lost
    /// it); the rebuild that follows is a rehydration to alert on.
    pub(crate) lost: AtomicBool,
    /// `Queue::serving`, readable without the lock (reads check it on async threads while
    /// the lock may be held across an fsync); written only under the lock.
    serving_now: Arc<AtomicBool>,
    /// `Queue::applied`, for readers waiting until the writes before them arrived.
    applied_now: tokio::sync::watch::Sender<u64>,
    /// The outbox's last record number, readable without the lock (set under it).
    last_now: Arc<std::sync::atomic::AtomicU64>,
}

impl<T> Secondary<T> {
    /// Opens the tier's outbox in `dir`. A tier with writes left from an earlier run starts
    /// out of service, so they are replayed before anything else reaches it.
    pub(crate) fn open(tier: Tier, store: Lazy<T>, dir: &std::path::Path) -> Result<Self> {
        let outbox = Outbox::open(dir)?;
        let serving = outbox.depth() == 0;
        let applied = outbox.acknowledged();
        let last = outbox.last();
        Ok(Secondary {
            tier,
            store,
            queue: Arc::new(Mutex::new(Queue {
                outbox,
                serving,
                heal: BTreeSet::new(),
                applied,
                applied_later: BTreeSet::new(),
            })),
            wake: tokio::sync::Notify::new(),
            fell_back: AtomicBool::new(false),
            lost: AtomicBool::new(false),
            serving_now: Arc::new(AtomicBool::new(serving)),
            applied_now: tokio::sync::watch::Sender::new(applied),
            last_now: Arc::new(std::sync::atomic::AtomicU64::new(last)),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic while holding the lock leaves nothing half-done in memory that matters:
        // the outbox's own state is updated only after its file operations succeed.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn serving(&self) -> bool {
        self.serving_now.load(Ordering::SeqCst)
    }

    /// Writes that have not reached the tier.
    pub(crate) fn depth(&self) -> u64 {
        self.lock().waiting()
    }

    /// Takes the tier out of service; returns whether it was serving.
    pub(crate) fn stop_serving(&self) -> bool {
        let was = self.lock().stop(&self.serving_now);
        self.wake.notify_one();
        was
    }

    /// Marks accounts' hot state for rebuilding and takes the tier out of service.
    pub(crate) fn heal<'a>(&self, accounts: impl IntoIterator<Item = &'a AccountId>) -> bool {
        let was = {
            let mut q = self.lock();
            q.heal.extend(accounts.into_iter().cloned());
            q.stop(&self.serving_now)
        };
        self.wake.notify_one();
        was
    }

    /// Pushes a write (appended and fsynced before this returns); returns its number and
    /// whether the tier is serving, i.e. whether the caller should send it now.
    pub(crate) async fn enqueue(&self, write: &TierWrite) -> Result<(u64, bool)> {
        let bytes = write.encode()?;
        let queue = Arc::clone(&self.queue);
        let last_now = Arc::clone(&self.last_now);
        tokio::task::spawn_blocking(move || {
            let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
            let seq = q.outbox.push(&bytes)?;
            last_now.store(seq, Ordering::SeqCst);
            Ok((seq, q.serving))
        })
        .await
        .map_err(|e| StoreError::invalid("outbox", "push", format!("the writing task failed: {e}")))?
    }

    /// Notes that record `seq` reached the tier.
    pub(crate) fn applied(&self, seq: u64) {
        let mut q = self.lock();
        q.mark_applied(seq);
        self.applied_now.send_replace(q.applied);
    }

    /// The number of the last write pushed (without taking the lock).
    pub(crate) fn last_pushed(&self) -> u64 {
        self.last_now.load(Ordering::SeqCst)
    }

    /// Whether every write pushed so far reached the tier (without taking the lock).
    pub(crate) fn all_arrived(&self) -> bool {
        *self.applied_now.borrow() >= self.last_pushed()
    }

    /// Waits until every write through `seq` reached the tier.
    pub(crate) async fn caught_up(&self, seq: u64) {
        let mut applied = self.applied_now.subscribe();
        // The sender lives as long as `self`: the wait ends when the condition holds.
        let _ = applied.wait_for(|a| *a >= seq).await;
    }

    /// Notes that every record through `seq` reached the tier and the accounts in `healed`
    /// were rebuilt; serves again when nothing is left. Returns whether it serves.
    pub(crate) fn applied_through(&self, seq: u64, healed: &BTreeSet<AccountId>) -> bool {
        let mut q = self.lock();
        if seq > q.applied {
            q.applied = seq;
            let later = q.applied_later.split_off(&(seq + 1));
            q.applied_later = later;
            q.mark_applied(seq);
            self.applied_now.send_replace(q.applied);
        }
        for a in healed {
            q.heal.remove(a);
        }
        q.serve_if_done(&self.serving_now)
    }

    /// Writes the acknowledgement of every record known to have reached the tier to disk
    /// (dropping the log when all have).
    pub(crate) async fn flush(&self) -> Result<()> {
        let queue = Arc::clone(&self.queue);
        tokio::task::spawn_blocking(move || {
            let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
            if q.applied > q.outbox.acknowledged() {
                let through = q.applied;
                q.outbox.ack(through)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| StoreError::invalid("outbox", "ack", format!("the acknowledging task failed: {e}")))?
    }

    /// Closing: [`Secondary::flush`] on the calling thread (nothing can wait here), then the
    /// outbox's lock released at once, so the directory can be opened again right away even
    /// while aborted tasks still hold this tier.
    pub(crate) fn close(&self) {
        let mut q = self.lock();
        if q.applied > q.outbox.acknowledged() {
            let through = q.applied;
            if let Err(e) = q.outbox.ack(through) {
                tracing::warn!(tier = self.tier.as_str(), error = %e, "cannot record which outbox writes arrived");
            }
        }
        q.outbox.close();
    }

    /// Up to `limit` records that have not reached the tier, oldest first (after a
    /// [`Secondary::flush`]; records that reached it out of order are included).
    pub(crate) async fn pending(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        self.flush().await?;
        let queue = Arc::clone(&self.queue);
        tokio::task::spawn_blocking(move || {
            queue.lock().unwrap_or_else(|p| p.into_inner()).outbox.pending(limit)
        })
        .await
        .map_err(|e| StoreError::invalid("outbox", "read", format!("the reading task failed: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tierstore_model::{AssetPoint, TradeDate};

    fn write(n: u32) -> TierWrite {
        let point = AssetPoint {
            account: AccountId::new("prod_pwc").unwrap_or_else(|e| panic!("{e}")),
            date: TradeDate::parse("2026-01-05").unwrap_or_else(|e| panic!("{e}")),
            total: format!("{n}.00").parse().unwrap_or_else(|e| panic!("{e:?}")),
        };
        TierWrite::Assets { points: vec![point] }
    }

    fn tier(dir: &std::path::Path) -> Secondary<()> {
        let lazy = Lazy::new(|| Box::pin(async { Ok(()) }));
        Secondary::open(Tier::Cool, lazy, dir).unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test]
    async fn serves_again_only_once_every_write_arrived_and_no_account_waits_for_a_rebuild() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let t = tier(dir.path());
        assert!(t.serving());
        let (s1, serving) = t.enqueue(&write(1)).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(serving, "pushed while serving");
        let (s2, _) = t.enqueue(&write(2)).await.unwrap_or_else(|e| panic!("{e}"));
        let (s3, _) = t.enqueue(&write(3)).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.depth(), 3);
        // The third arrives before the first two (concurrent writes): nothing is counted past
        // the first gap.
        t.applied(s3);
        assert_eq!(t.depth(), 2);
        t.flush().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.lock().outbox.acknowledged(), 0, "no acknowledgement past a write still on its way");
        t.applied(s1);
        t.flush().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.lock().outbox.acknowledged(), s1);

        assert!(t.stop_serving());
        assert!(!t.stop_serving(), "already out");
        let (_, serving) = t.enqueue(&write(4)).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(!serving, "out of service: the write only waits in the outbox");
        let none = BTreeSet::new();
        assert!(!t.applied_through(s2, &none), "write 4 is still waiting");
        assert!(!t.serving());
        let account = AccountId::new("prod_pwc").unwrap_or_else(|e| panic!("{e}"));
        t.heal([&account]);
        assert!(
            !t.applied_through(s3 + 1, &none),
            "every write arrived, but an account waits for its rebuild"
        );
        assert!(t.applied_through(s3 + 1, &BTreeSet::from([account])));
        assert!(t.serving());
        assert_eq!(t.depth(), 0);
        t.flush().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.lock().outbox.depth(), 0, "all acknowledged on disk");
    }

    #[tokio::test]
    async fn a_tier_with_writes_left_from_the_last_run_starts_out_of_service() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        {
            let t = tier(dir.path());
            t.enqueue(&write(1)).await.unwrap_or_else(|e| panic!("{e}"));
        }
        let t = tier(dir.path());
        assert!(!t.serving());
        assert_eq!(t.depth(), 1);
        let pending = t.pending(10).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            TierWrite::decode(&pending[0].payload, pending[0].seq).unwrap_or_else(|e| panic!("{e}")),
            write(1)
        );
    }
}
