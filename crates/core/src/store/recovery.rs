//! The background work: polling the migration phase, and bringing a tier that fell out of
//! service back — probing with backoff, draining its outbox, and only then serving again.
//!
//! The cool tier's outbox is replayed write by write, in order, each acknowledged before the
//! next ([`crate::tier_write`] says why). The hot tier's is drained by rebuilding every account
//! it names from the files, under those accounts' write locks: the files hold every completed
//! position write (they are written first), so the rebuilt state is exactly the writes, and
//! no write is applied on top of a state that already holds it — which would break the
//! once-per-date increment (set 3, then +1 for the 9th, replayed onto a state holding both,
//! gives 3). The same rebuild seeds an account Redis has never seen, and refills a Redis that
//! lost its data (no namespace marker): then every account is rebuilt and an alert says so.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use futures::TryStreamExt;
use tierstore_cool::CoolStore;
use tierstore_model::{
    AccountId, AssetStore, DateRange, HealthProbe, Kline, KlineRange, KlineStore, PositionStore, Result,
    StockCode, StoreError, Tier, TradeDate, TradeQuery, TradeStore,
};
use tokio::sync::Notify;

use super::Inner;
use super::secondary::Secondary;
use crate::alerts::{Alert, AlertKind};
use crate::tier_write::{TierWrite, WriteTargets};

/// Starts the phase poller and one recovery task per database tier. They hold the store's
/// state until aborted, which the last [`super::Store`] clone does when it goes.
pub(super) fn spawn(inner: &Arc<Inner>) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    if inner.warm.is_some() {
        tasks.push(tokio::spawn(poll_mode(Arc::clone(inner))));
    }
    if inner.hot.is_some() {
        tasks.push(tokio::spawn(recover(Arc::clone(inner), DbTier::Hot)));
    }
    if inner.cool.is_some() {
        tasks.push(tokio::spawn(recover(Arc::clone(inner), DbTier::Cool)));
    }
    tasks
}

async fn poll_mode(inner: Arc<Inner>) {
    let period = inner.deadlines.mode_poll;
    let mut warned = false;
    loop {
        tokio::time::sleep(period).await;
        match inner.refresh_mode().await {
            Ok(_) => warned = false,
            Err(e) if !warned => {
                tracing::warn!(error = %e, mode = %inner.mode(), "cannot read the migration phase; keeping the current one");
                warned = true;
            }
            Err(_) => {}
        }
    }
}

/// How often a serving tier's acknowledgements are written to disk: a crash sends at most
/// this much again.
const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// Outbox records read per round of sending.
const SEND_BATCH: usize = 512;

/// Consecutive writes of one kind as one (bars with bars, points with points, trades with
/// trades), each with the number of its last record. Merging never moves a write past
/// another of its kind, and the tables are separate, so the end state is the same.
fn merge_consecutive(writes: Vec<(u64, TierWrite)>) -> Vec<(u64, TierWrite)> {
    let mut out: Vec<(u64, TierWrite)> = Vec::new();
    for (seq, w) in writes {
        match (out.last_mut(), w) {
            (Some((last, TierWrite::Trades { trades })), TierWrite::Trades { trades: more }) => {
                trades.extend(more);
                *last = seq;
            }
            (Some((last, TierWrite::Klines { bars })), TierWrite::Klines { bars: more }) => {
                bars.extend(more);
                *last = seq;
            }
            (Some((last, TierWrite::Assets { points })), TierWrite::Assets { points: more }) => {
                points.extend(more);
                *last = seq;
            }
            (_, w) => out.push((seq, w)),
        }
    }
    out
}

async fn flush(inner: &Inner, which: DbTier) -> Result<()> {
    match which {
        DbTier::Hot => match &inner.hot {
            Some(s) => s.flush().await,
            None => Ok(()),
        },
        DbTier::Cool => match &inner.cool {
            Some(s) => s.flush().await,
            None => Ok(()),
        },
    }
}

#[derive(Clone, Copy)]
enum DbTier {
    Hot,
    Cool,
}

async fn recover(inner: Arc<Inner>, which: DbTier) {
    fn sec_of(inner: &Inner, which: DbTier) -> Option<(Tier, &Notify, &AtomicBool, bool)> {
        match which {
            DbTier::Hot => inner.hot.as_ref().map(|s| (s.tier, &s.wake, &s.fell_back, s.serving())),
            DbTier::Cool => inner.cool.as_ref().map(|s| (s.tier, &s.wake, &s.fell_back, s.serving())),
        }
    }
    let mut failures: u32 = 0;
    loop {
        let Some((tier, wake, fell_back, serving)) = sec_of(&inner, which) else { return };
        if serving {
            failures = 0;
            // A wake-up sent since `serving` was read is kept as a permit, never lost.
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(FLUSH_EVERY) => {}
            }
            if let (DbTier::Cool, Some(cool)) = (which, &inner.cool)
                && cool.serving()
            {
                let sent = match inner.within_write(cool, async { cool.store.get().await }).await {
                    Ok(store) => inner.send_cool(cool, store).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = sent {
                    inner.out_of_service(cool, None, &e);
                    continue;
                }
            }
            if let Err(e) = flush(&inner, which).await {
                tracing::warn!(tier = tier.as_str(), error = %e, "cannot record which outbox writes arrived");
            }
            continue;
        }
        let attempt = match which {
            DbTier::Hot => inner.drain_hot().await,
            DbTier::Cool => inner.drain_cool().await,
        };
        match attempt {
            Ok(true) => {
                if fell_back.swap(false, std::sync::atomic::Ordering::SeqCst) {
                    inner.alerts.raise(Alert {
                        kind: AlertKind::Recovery,
                        tier,
                        message: "answers again and its outbox has drained; reads and writes go to it again"
                            .into(),
                    });
                }
                failures = 0;
            }
            Ok(false) => {}
            Err(e) => {
                failures = failures.saturating_add(1);
                if e.falls_back() {
                    // Down since the start, or since a write that went to the outbox.
                    match which {
                        DbTier::Hot => inner.hot.as_ref().map(|s| inner.fallback_alert(s, &e)),
                        DbTier::Cool => inner.cool.as_ref().map(|s| inner.fallback_alert(s, &e)),
                    };
                }
                if !e.falls_back() && failures >= 3 {
                    inner.alerts.raise(Alert {
                        kind: AlertKind::OutboxStuck,
                        tier,
                        message: format!("the outbox cannot drain after {failures} attempts: {e}"),
                    });
                } else {
                    tracing::debug!(tier = tier.as_str(), error = %e, failures, "tier still out of service");
                }
                tokio::time::sleep(backoff(failures, inner.deadlines.max_backoff)).await;
            }
        }
    }
}

/// 100 ms, doubling per failure, at most `max`.
fn backoff(failures: u32, max: Duration) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1u64 << failures.min(16))).min(max)
}

impl Inner {
    /// One attempt to bring the cool tier back: probe, replay the outbox in order. Returns
    /// whether the tier serves again.
    async fn drain_cool(&self) -> Result<bool> {
        let Some(sec) = &self.cool else { return Ok(true) };
        let cool = self.within_write(sec, async { sec.store.get().await }).await?;
        self.within_write(sec, cool.probe()).await?;
        if self.cool_catch_up.swap(false, Ordering::SeqCst) {
            let asked = self.catch_up_asked.load(Ordering::SeqCst);
            if let Err(e) = self.queue_what_cool_misses(sec, cool, asked).await {
                self.cool_catch_up.store(true, Ordering::SeqCst);
                return Err(e);
            }
        }
        loop {
            self.send_cool(sec, cool).await?;
            // Serves again unless a write was queued since the last batch was read.
            if sec.applied_through(0, &BTreeSet::new()) {
                sec.flush().await?;
                return Ok(true);
            }
        }
    }

    /// Sends ClickHouse every write its outbox holds, in order, consecutive writes of one
    /// kind as one insert; returns when none is left. The cool tier's writes are all sent
    /// this way, while it serves as after an outage: a write call returns once its record is
    /// pushed, and a db_first read first waits (within its deadline) for the writes pushed
    /// before it.
    async fn send_cool(&self, sec: &Secondary<CoolStore>, cool: &CoolStore) -> Result<()> {
        let targets =
            WriteTargets { trades: Some(cool), klines: Some(cool), assets: Some(cool), ..Default::default() };
        let none = BTreeSet::new();
        loop {
            let batch = sec.pending(SEND_BATCH).await?;
            if batch.is_empty() {
                return Ok(());
            }
            let mut decoded = Vec::with_capacity(batch.len());
            for entry in batch {
                decoded.push((entry.seq, TierWrite::decode(&entry.payload, entry.seq)?));
            }
            for (last, write) in merge_consecutive(decoded) {
                if let Some(write) = self.as_the_files_hold(write).await? {
                    self.within_write(sec, write.apply(&targets)).await?;
                }
                sec.applied_through(last, &none);
            }
        }
    }

    /// One attempt to bring the hot tier back: probe (a namespace without its marker lost its
    /// data: every account is rebuilt), then rebuild every account the outbox names or a
    /// call found unseeded, from the files, and drop the writes they cover.
    async fn drain_hot(&self) -> Result<bool> {
        let Some(sec) = &self.hot else { return Ok(true) };
        let hot = self.within_write(sec, async { sec.store.get().await }).await?;
        let status = self.within_write(sec, hot.namespace_status()).await?;
        if status == tierstore_hot::NamespaceStatus::Missing {
            sec.heal(&self.accounts);
        }
        let mut wanted = BTreeSet::new();
        loop {
            wanted.extend(pending_accounts(sec).await?.0);
            wanted.extend(sec.lock().heal.iter().cloned());
            let _guards = self.lock_accounts(&wanted).await;
            // Under the locks no write of these accounts can be queued; one of another
            // account queued meanwhile means taking its lock too.
            let (named, last) = pending_accounts(sec).await?;
            let healing: BTreeSet<AccountId> = sec.lock().heal.iter().cloned().collect();
            if !named.is_subset(&wanted) || !healing.is_subset(&wanted) {
                continue;
            }
            for account in &wanted {
                let state = self.legacy.account_positions(account).await?;
                self.within_write(sec, hot.replace_account(account, &state)).await?;
            }
            let rebuilt = wanted.len();
            let serving = sec.applied_through(last.unwrap_or(0), &wanted);
            sec.flush().await?;
            // Not at a start or a phase change (a rebuild then is routine), but when Redis lost
            // our data: no namespace marker, or an account it did not hold.
            if status == tierstore_hot::NamespaceStatus::Missing || sec.lost.swap(false, Ordering::SeqCst) {
                self.alerts.raise(Alert {
                    kind: AlertKind::Rehydration,
                    tier: sec.tier,
                    message: format!(
                        "Redis lost our data: {rebuilt} account(s) rebuilt from the legacy files"
                    ),
                });
            }
            return Ok(serving);
        }
    }

    /// A bar or asset-point record as the files hold its keys now (`None` when they hold
    /// none of them): the record was pushed before its file write, which may have failed or
    /// never happened, and later writes of the same keys may have followed. Trades go as
    /// recorded: their journal append came first.
    async fn as_the_files_hold(&self, write: TierWrite) -> Result<Option<TierWrite>> {
        let span = |dates: &mut dyn Iterator<Item = TradeDate>| {
            let dates: Vec<TradeDate> = dates.collect();
            match (dates.iter().min(), dates.iter().max()) {
                (Some(a), Some(b)) => DateRange::new(*a, *b).map(Some),
                _ => Ok(None),
            }
        };
        // Under the lock their write path holds from before its push to after its file write,
        // so a record is never read back before its file write is over.
        match write {
            TierWrite::Klines { bars } => {
                let _guard = self.kline_lock.lock().await;
                let keys: HashSet<(StockCode, TradeDate)> = bars.iter().map(|b| (b.code, b.date)).collect();
                let Some(range) = span(&mut bars.iter().map(|b| b.date))? else { return Ok(None) };
                let codes: Vec<StockCode> =
                    keys.iter().map(|k| k.0).collect::<BTreeSet<_>>().into_iter().collect();
                let mut bars: Vec<Kline> = Vec::new();
                for code in codes {
                    match self.legacy.klines(&code, KlineRange::Dates(range)).await {
                        Ok(held) => {
                            bars.extend(held.into_iter().filter(|b| keys.contains(&(b.code, b.date))))
                        }
                        Err(e) => unreadable("bars", &e),
                    }
                }
                Ok((!bars.is_empty()).then_some(TierWrite::Klines { bars }))
            }
            TierWrite::Assets { points } => {
                let keys: HashSet<(AccountId, TradeDate)> =
                    points.iter().map(|p| (p.account.clone(), p.date)).collect();
                let _guards = self.lock_accounts(&keys.iter().map(|k| k.0.clone()).collect()).await;
                let Some(range) = span(&mut points.iter().map(|p| p.date))? else { return Ok(None) };
                let mut now = Vec::new();
                for account in keys.iter().map(|k| k.0.clone()).collect::<BTreeSet<_>>() {
                    match self.legacy.assets(&account, Some(range)).await {
                        Ok(held) => now
                            .extend(held.into_iter().filter(|p| keys.contains(&(p.account.clone(), p.date)))),
                        Err(e) => unreadable("asset points", &e),
                    }
                }
                Ok((!now.is_empty()).then_some(TierWrite::Assets { points: now }))
            }
            other => Ok(Some(other)),
        }
    }

    /// Queues every trade of the journals that ClickHouse does not hold (by journal ordinal):
    /// what a process that died between a journal append and its outbox push left behind.
    /// Reads each account's journal once.
    async fn queue_what_cool_misses(
        &self,
        sec: &Secondary<CoolStore>,
        cool: &CoolStore,
        asked: u64,
    ) -> Result<()> {
        const BATCH: usize = 1000;
        let mut queued = 0usize;
        for account in &self.accounts {
            // Under the account's write lock: what is read from the files is queued before
            // any later write of the account.
            let _guard = self.lock_account(account).await;
            let q = TradeQuery { accounts: vec![account.clone()], ..Default::default() };
            let mut held = HashSet::new();
            let mut rows = cool.stream_trades(&q);
            while let Some(chunk) = self.within_write(sec, rows.try_next()).await? {
                held.extend(chunk.iter().filter_map(|t| t.seq));
            }
            drop(rows);
            let mut missing = Vec::new();
            let mut journal = self.legacy.stream_trades(&q);
            while let Some(chunk) = journal.try_next().await? {
                missing.extend(chunk.into_iter().filter(|t| t.seq.is_some_and(|s| !held.contains(&s))));
                if missing.len() >= BATCH {
                    queued += missing.len();
                    sec.enqueue(&TierWrite::Trades { trades: std::mem::take(&mut missing) }).await?;
                }
            }
            if !missing.is_empty() {
                queued += missing.len();
                sec.enqueue(&TierWrite::Trades { trades: missing }).await?;
            }
        }
        if queued > 0 {
            tracing::warn!(
                rows = queued,
                "ClickHouse catches up with the files (the last process stopped without closing, \
                 or the outbox refused a write)"
            );
        }
        if self.catch_up_asked.load(Ordering::SeqCst) != asked {
            // Asked again while this ran: the marker stays for the next round.
            return Ok(());
        }
        match std::fs::remove_file(&self.catch_up_marker) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::unavailable(
                Tier::Legacy,
                "outbox",
                self.catch_up_marker.display().to_string(),
                format!("cannot remove: {e}"),
            )),
        }
    }

    async fn within_write<T, R>(
        &self,
        sec: &Secondary<T>,
        call: impl Future<Output = Result<R>>,
    ) -> Result<R> {
        match tokio::time::timeout(self.deadlines.write, call).await {
            Ok(r) => r,
            Err(_) => Err(self.timed_out(sec.tier, "write")),
        }
    }
}

/// A file the sender cannot read back (damaged by hand, say) is skipped with an error in the
/// log rather than stopping ClickHouse for every other write: the files are the record, and
/// `storectl verify` reports the file.
fn unreadable(what: &str, e: &StoreError) {
    tracing::error!(error = %e, "cannot read {what} back from the files; ClickHouse is not sent them");
}

/// The accounts named by the hot outbox's pending writes, and the last write's number.
async fn pending_accounts<T>(sec: &Secondary<T>) -> Result<(BTreeSet<AccountId>, Option<u64>)> {
    let pending = sec.pending(usize::MAX).await?;
    let last = pending.last().map(|e| e.seq);
    let mut accounts = BTreeSet::new();
    for entry in pending {
        let write = TierWrite::decode(&entry.payload, entry.seq)?;
        let account = write.position_account().ok_or_else(|| {
            StoreError::corrupt(format!("hot outbox record {}", entry.seq), None, "not a position write")
        })?;
        accounts.insert(account.clone());
    }
    Ok((accounts, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_limit() {
        let max = Duration::from_secs(5);
        assert_eq!(backoff(0, max), Duration::from_millis(100));
        assert_eq!(backoff(1, max), Duration::from_millis(200));
        assert_eq!(backoff(3, max), Duration::from_millis(800));
        assert_eq!(backoff(6, max), Duration::from_millis(5000));
        assert_eq!(backoff(u32::MAX, max), Duration::from_millis(5000));
    }
}
