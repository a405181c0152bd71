//! Outages of real servers under a stream of mixed writes, in db_first: a private Redis,
//! ClickHouse or MariaDB started by the test, killed with SIGKILL, started again. Every read
//! during the outage answers within a second (from the files where the database is down),
//! every write succeeds, and after recovery every tier holds exactly the writes — compared
//! field by field with the files, which hold each write once. Redis comes back empty and is
//! rehydrated; a local webhook receives the fallback and recovery alerts.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::workload::{assert_tiers_equal, write};
use common::{AlertSink, Spec, Stack, accounts, settle};
use tierstore::Store;
use tierstore_model::{AccountStore, KlineRange, StockCode, StorageMode, Tier, TradeQuery, TradeStore};
use tierstore_testkit::{ClickhouseServer, MariadbServer, RedisServer};
use tokio::task::JoinHandle;

/// What the reader saw.
#[derive(Debug, Default)]
struct Reads {
    n: u64,
    slowest: Duration,
    from_files: u64,
    /// Position reads the files answered (Redis takes its writes in the call, so in
    /// db_first it answers these whenever it is up).
    positions_from_files: u64,
}

/// Writes the stream for both accounts until stopped; returns how many rounds it wrote.
fn writer(store: Store, stop: Arc<AtomicBool>) -> JoinHandle<u64> {
    tokio::spawn(async move {
        let mut i = 0;
        while !stop.load(Ordering::SeqCst) {
            for a in accounts() {
                write(&store, &a, i).await.unwrap_or_else(|e| panic!("write {i} for {a} failed: {e}"));
            }
            i += 1;
        }
        i
    })
}

/// Reads positions, trades, bars and assets until stopped, timing each.
fn reader(store: Store, stop: Arc<AtomicBool>) -> JoinHandle<Reads> {
    tokio::spawn(async move {
        let mut seen = Reads::default();
        let a = accounts()[0].clone();
        let code = StockCode::parse("000001.SZ").unwrap();
        let q = TradeQuery { accounts: vec![a.clone()], ..Default::default() };
        while !stop.load(Ordering::SeqCst) {
            let r = store.sourced();
            let mut one = |source: Tier, took: Duration| {
                seen.n += 1;
                seen.slowest = seen.slowest.max(took);
                seen.from_files += u64::from(source == Tier::Legacy);
            };
            let t = Instant::now();
            let s = r.account_positions(&a).await.unwrap().source;
            one(s, t.elapsed());
            seen.positions_from_files += u64::from(s == Tier::Legacy);
            let t = Instant::now();
            let s = r.trades(&q).await.unwrap().source;
            one(s, t.elapsed());
            let t = Instant::now();
            let s = r.klines(&code, KlineRange::Last { n: 60, until: None }).await.unwrap().source;
            one(s, t.elapsed());
            let t = Instant::now();
            let s = r.assets(&a, None).await.unwrap().source;
            one(s, t.elapsed());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        seen
    })
}

/// Trades the stream wrote for one account in `rounds` rounds: write `i` is a trade when
/// `i % 9 == 4`.
fn trades_written(rounds: u64) -> usize {
    (0..rounds).filter(|i| i % 9 == 4).count()
}

struct Run {
    rounds: u64,
    reads: Reads,
}

/// Writes and reads for `before`, runs `outage` (which kills and restarts a server), goes
/// on for `after`, and stops.
async fn under_load(store: &Store, before: Duration, outage: impl AsyncFnOnce(), after: Duration) -> Run {
    let stop = Arc::new(AtomicBool::new(false));
    let w = writer(store.clone(), stop.clone());
    let r = reader(store.clone(), stop.clone());
    tokio::time::sleep(before).await;
    outage().await;
    tokio::time::sleep(after).await;
    stop.store(true, Ordering::SeqCst);
    Run { rounds: w.await.unwrap(), reads: r.await.unwrap() }
}

async fn journal_rows(stack: &Stack) -> Vec<usize> {
    let legacy = stack.legacy().await;
    let mut out = Vec::new();
    for a in accounts() {
        let q = TradeQuery { accounts: vec![a], ..Default::default() };
        out.push(legacy.trades(&q).await.unwrap().len());
    }
    out
}

/// Writes and reads in db_first; 700 ms in, `kill` a server and 1.5 s later `restart` it;
/// 700 ms more. Checks that `tier` was out of service with writes waiting during the outage,
/// and afterwards that every tier settles equal to the files, the journal holds each trade
/// once, and every read answered within a second, some from the files.
async fn outage(stack: &Stack, store: &Store, tier: Tier, kill: impl FnOnce(), restart: impl FnOnce()) {
    let down = Arc::new(AtomicU64::new(0));
    let run = under_load(
        store,
        Duration::from_millis(700),
        async || {
            kill();
            tokio::time::sleep(Duration::from_millis(1500)).await;
            if !store.serving(tier) {
                down.store(store.outbox_depth(tier), Ordering::SeqCst);
            }
            restart();
        },
        Duration::from_millis(700),
    )
    .await;
    assert!(
        down.load(Ordering::SeqCst) > 0,
        "{tier:?} was not out of service with writes waiting while down"
    );
    settle(store, 30).await;
    assert_eq!(
        journal_rows(stack).await,
        vec![trades_written(run.rounds); 2],
        "the journal holds each trade once"
    );
    assert_tiers_equal(stack).await;
    assert!(run.reads.from_files > 0, "no read fell back to the files: {:?}", run.reads);
    assert!(run.reads.slowest < Duration::from_secs(1), "a read took {:?}", run.reads.slowest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_killed_and_restarted_empty_is_rehydrated_and_equal() {
    let sink = AlertSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let redis = std::cell::RefCell::new(RedisServer::start(dir.path(), &[]));
    let mut spec = Spec::new(StorageMode::DbFirst);
    spec.redis_url = Some(redis.borrow().url());
    spec.extra = format!("[alerts]\nurl = {:?}\nmin_interval_ms = 100\n", sink.url);
    let stack = Stack::new(spec).await;
    let store = stack.store().await;
    settle(&store, 10).await;
    sink.clear(); // a fresh namespace is a rehydration too: only the outage's alerts count
    outage(&stack, &store, Tier::Hot, || redis.borrow_mut().kill(), || redis.borrow_mut().restart()).await;
    assert_eq!(sink.wait_for("fallback", 5).await["tier"], "hot");
    assert_eq!(sink.wait_for("rehydration", 5).await["tier"], "hot");
    assert_eq!(sink.wait_for("recovery", 5).await["tier"], "hot");
    assert_eq!(store.sourced().account_positions(&accounts()[0]).await.unwrap().source, Tier::Hot);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clickhouse_killed_and_restarted_gets_every_write_once() {
    let sink = AlertSink::start().await;
    let clickhouse = std::cell::RefCell::new(ClickhouseServer::start());
    let mut spec = Spec::new(StorageMode::DbFirst);
    spec.clickhouse_url = Some(clickhouse.borrow().url());
    spec.clickhouse_private = true;
    spec.extra = format!("[alerts]\nurl = {:?}\nformat = \"generic\"\nmin_interval_ms = 100\n", sink.url);
    let stack = Stack::new(spec).await;
    let store = stack.store().await;
    settle(&store, 10).await;
    sink.clear();
    outage(
        &stack,
        &store,
        Tier::Cool,
        || clickhouse.borrow_mut().kill(),
        || clickhouse.borrow_mut().restart(),
    )
    .await;
    assert_eq!(sink.wait_for("fallback", 5).await["tier"], "cool");
    assert_eq!(sink.wait_for("recovery", 5).await["tier"], "cool");
    let q = TradeQuery { accounts: vec![accounts()[0].clone()], ..Default::default() };
    assert_eq!(store.sourced().trades(&q).await.unwrap().source, Tier::Cool);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mariadb_killed_keeps_the_phase_and_the_data_path_running() {
    let mut mariadb = tokio::task::spawn_blocking(MariadbServer::start).await.unwrap();
    let mut spec = Spec::new(StorageMode::DbFirst);
    spec.warm = true;
    spec.warm_url = Some(mariadb.url());
    spec.store = "mode_poll_ms = 100\n".into();
    let stack = Stack::new(spec).await;
    let store = stack.store().await;
    settle(&store, 10).await;
    let warm_calls = Arc::new(std::sync::Mutex::new(Vec::new()));
    let run = under_load(
        &store,
        Duration::from_millis(500),
        async || {
            mariadb.kill();
            for _ in 0..5 {
                let t = Instant::now();
                let err = store.account(&accounts()[0]).await.unwrap_err();
                warm_calls.lock().unwrap().push((t.elapsed(), err.is_unavailable()));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            assert_eq!(store.mode(), StorageMode::DbFirst, "the phase is kept while the warm tier is down");
            mariadb.restart();
        },
        Duration::from_millis(500),
    )
    .await;
    for (took, unavailable) in warm_calls.lock().unwrap().iter() {
        assert!(*unavailable, "an account read while MariaDB is down is `Unavailable`");
        assert!(*took < Duration::from_millis(1500), "an account read took {took:?} (warm timeout 1 s)");
    }
    assert!(run.reads.slowest < Duration::from_secs(1), "a read took {:?}", run.reads.slowest);
    // Redis goes on answering. (ClickHouse's reads wait for the writes pushed before them,
    // which this writer, writing without a pause, keeps adding: the files may answer those.)
    assert_eq!(run.reads.positions_from_files, 0, "Redis answered throughout: {:?}", run.reads);
    settle(&store, 10).await;
    assert_tiers_equal(&stack).await;
    // The warm tier is back: a switch made now is noticed.
    let warm = stack.warm().await;
    tierstore_model::MigrationStateStore::move_phase(
        &warm,
        StorageMode::DualWrite,
        "test",
        "after the outage",
    )
    .await
    .unwrap();
    let mut changes = store.mode_changes();
    tokio::time::timeout(Duration::from_secs(5), changes.wait_for(|m| *m == StorageMode::DualWrite))
        .await
        .expect("the switch after the outage was not noticed")
        .unwrap();
}
