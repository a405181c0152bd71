//! Where the composed store reads and writes in each phase, how it notices a phase change,
//! what it does without a warm tier, which clock its market dates follow, and how a silent
//! database is answered for by the files — on real services.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use common::workload::{assert_tiers_equal, write};
use common::{AlertSink, Spec, Stack, accounts, move_to, settle};
use tierstore::Store;
use tierstore_model::{
    AccountStore, Broker, FixedClock, KlineRange, MigrationStateStore, NewAccount, PositionStore, StockCode,
    StorageMode, StoreError, Tier, TradeDate, TradeQuery, TradeStore,
};

async fn write_stream(store: &Store, n: u64) {
    for i in 0..n {
        for a in accounts() {
            write(store, &a, i).await.unwrap_or_else(|e| panic!("write {i} for {a}: {e}"));
        }
    }
}

async fn sources(store: &Store) -> [Tier; 4] {
    let a = &accounts()[0];
    let r = store.sourced();
    let q = TradeQuery { accounts: vec![a.clone()], ..Default::default() };
    let code = StockCode::parse("000001.SZ").unwrap();
    [
        r.account_positions(a).await.unwrap().source,
        r.trades(&q).await.unwrap().source,
        r.klines(&code, KlineRange::Last { n: 5, until: None }).await.unwrap().source,
        r.assets(a, None).await.unwrap().source,
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_mode_touches_only_the_files() {
    let stack = Stack::new(Spec::new(StorageMode::File)).await;
    let store = stack.store().await;
    write_stream(&store, 36).await;
    assert_eq!(sources(&store).await, [Tier::Legacy; 4]);
    let hot = stack.hot().await;
    let err = hot.account_positions(&accounts()[0]).await.unwrap_err();
    assert!(matches!(err, StoreError::NotSeeded { .. }), "Redis was written in file mode: {err:?}");
    let ch = stack.ch.as_ref().unwrap();
    assert_eq!(ch.number(&format!("SELECT count() FROM {}.trades", ch.name())).await, 0);
    assert_eq!(ch.number(&format!("SELECT count() FROM {}.klines", ch.name())).await, 0);
    assert_eq!(store.outbox_depth(Tier::Hot) + store.outbox_depth(Tier::Cool), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dual_write_reads_the_files_and_every_tier_ends_equal() {
    let stack = Stack::new(Spec::new(StorageMode::DualWrite)).await;
    let store = stack.store().await;
    write_stream(&store, 72).await;
    assert_eq!(sources(&store).await, [Tier::Legacy; 4]);
    settle(&store, 10).await;
    assert_tiers_equal(&stack).await;
    // 72 writes per account, every ninth from 4 a trade: 8 per account.
    let ch = stack.ch.as_ref().unwrap();
    assert_eq!(ch.number(&format!("SELECT count() FROM {}.trades FINAL", ch.name())).await, 16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_first_reads_the_databases_and_every_tier_ends_equal() {
    let stack = Stack::new(Spec::new(StorageMode::DbFirst)).await;
    let store = stack.store().await;
    write_stream(&store, 72).await;
    settle(&store, 10).await;
    assert_eq!(sources(&store).await, [Tier::Hot, Tier::Cool, Tier::Cool, Tier::Cool]);
    assert_tiers_equal(&stack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trade_keeps_the_number_of_its_journal_line_in_clickhouse() {
    let stack = Stack::new(Spec::new(StorageMode::DualWrite)).await;
    // Two lines the Python program wrote before the store ran.
    let journal = stack.legacy_dir(&accounts()[0]).join("deal_hist.csv");
    std::fs::write(
        &journal,
        "日期,时间,代码,名称,类型,注释,成交价,成交量\n\
         2026-01-05,09:31:00,000001.SZ,平安银行,买入成交,old,10.1,100\r\n\
         2026-01-05,09:32:00,000001.SZ,平安银行,买入成交,old,10.1,100\r\n",
    )
    .unwrap();
    let store = stack.store().await;
    let t = common::workload::trade(&accounts()[0], 1, StockCode::parse("600000.SH").unwrap());
    let ids = store.append_trades(&[t]).await.unwrap();
    assert_eq!(ids[0].seq, 3, "the third line of the journal");
    settle(&store, 10).await;
    let cool = stack.cool().await;
    let q = TradeQuery { accounts: vec![accounts()[0].clone()], ..Default::default() };
    let rows = cool.trades(&q).await.unwrap();
    assert_eq!(rows.len(), 1, "only the store's own write reached ClickHouse: {rows:?}");
    assert_eq!(rows[0].seq, Some(3));
    assert_eq!(rows[0].code, StockCode::parse("600000.SH").unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phase_switch_is_noticed_within_seconds_and_redis_catches_up() {
    let mut spec = Spec::new(StorageMode::DualWrite);
    spec.warm = true;
    spec.store = "mode_poll_ms = 100\n".into();
    let stack = Stack::new(spec).await;
    let store = stack.store().await;
    let a = &accounts()[0];
    let hot = stack.hot().await;
    let in_files = async || stack.legacy().await.account_positions(a).await.unwrap();
    write_stream(&store, 9).await;
    settle(&store, 10).await;
    assert_eq!(hot.account_positions(a).await.unwrap(), in_files().await);
    let warm = stack.warm().await;
    let mut changes = store.mode_changes();

    // A rollback is a switch: noticed within seconds, and Redis is no longer written.
    let moved = Instant::now();
    warm.move_phase(StorageMode::File, "test", "rollback").await.unwrap();
    tokio::time::timeout(Duration::from_secs(3), changes.wait_for(|m| *m == StorageMode::File))
        .await
        .expect("the rollback was not noticed within 3 s")
        .unwrap();
    assert!(moved.elapsed() < Duration::from_secs(3));
    let before = hot.account_positions(a).await.unwrap();
    for i in 9..18 {
        write(&store, a, i).await.unwrap();
    }
    assert_eq!(hot.account_positions(a).await.unwrap(), before, "Redis written after the rollback");
    assert_ne!(before, in_files().await, "the writes in file mode changed the files");

    // Forward again: Redis, stale by the writes made in file mode, is rebuilt from the files
    // before the new phase's first write lands on it.
    move_to(&warm, StorageMode::DualWrite).await;
    tokio::time::timeout(Duration::from_secs(3), changes.wait_for(|m| *m == StorageMode::DualWrite))
        .await
        .expect("the switch was not noticed within 3 s")
        .unwrap();
    write(&store, a, 20).await.unwrap(); // a max-price raise on a stock Redis holds
    settle(&store, 10).await;
    assert_eq!(hot.account_positions(a).await.unwrap(), in_files().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_the_files_cannot_hold_need_a_warm_tier() {
    let stack = Stack::new(Spec::new(StorageMode::File)).await;
    let store = stack.store().await;
    let err = store.account(&accounts()[0]).await.unwrap_err();
    assert!(err.to_string().contains("live only in the warm tier"), "{err}");

    let mut spec = Spec::new(StorageMode::File);
    spec.warm = true;
    let stack = Stack::new(spec).await;
    let store = stack.store().await;
    let new = NewAccount {
        id: accounts()[0].clone(),
        name: "prod".into(),
        broker: Broker::Qmt,
        initial_capital: "100000.00".parse().unwrap(),
    };
    store.create_account(&new).await.unwrap();
    assert_eq!(store.account(&accounts()[0]).await.unwrap().name, "prod", "from the warm tier in file mode");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn market_dates_follow_the_configured_timezone_not_the_host() {
    // 17:30 UTC on 30 November is already 1 December in Shanghai, still 30 November in New York.
    let at = Utc.with_ymd_and_hms(2026, 11, 30, 17, 30, 0).unwrap();
    for (tz, want) in [("Asia/Shanghai", "2026-12-01"), ("America/New_York", "2026-11-30")] {
        let mut spec = Spec::new(StorageMode::DualWrite);
        spec.top = format!("timezone = {tz:?}\n");
        let stack = Stack::new(spec).await;
        let store = Store::open_with_clock(&stack.config, Arc::new(FixedClock::new(at))).await.unwrap();
        let want = TradeDate::parse(want).unwrap();
        assert_eq!(store.market_today().unwrap(), want, "{tz}");
        let a = &accounts()[0];
        store.open_positions(a, &[StockCode::parse("000001.SZ").unwrap()]).await.unwrap();
        store.increment_held_days_today(a).await.unwrap();
        settle(&store, 10).await;
        assert_eq!(store.account_positions(a).await.unwrap().last_increment, Some(want), "{tz}: files");
        let hot = stack.hot().await;
        assert_eq!(hot.account_positions(a).await.unwrap().last_increment, Some(want), "{tz}: Redis");
    }
}

/// A TCP listener that accepts connections and never answers.
async fn silent_listener() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    (addr.to_string(), task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_database_is_answered_for_by_the_files_within_a_second_and_alerted() {
    let sink = AlertSink::start().await;
    let (redis, _r) = silent_listener().await;
    let (clickhouse, _c) = silent_listener().await;
    let mut spec = Spec::new(StorageMode::DbFirst);
    spec.redis_url = Some(format!("redis://{redis}"));
    spec.clickhouse_url = Some(format!("http://{clickhouse}"));
    spec.store = "write_deadline_ms = 200\n".into();
    spec.extra = format!("[alerts]\nurl = {:?}\nformat = \"generic\"\n", sink.url);
    let stack = Stack::new(spec).await;
    let store = stack.store().await;
    let a = &accounts()[0];
    let code = StockCode::parse("000001.SZ").unwrap();
    let started = Instant::now();
    store.open_positions(a, &[code]).await.unwrap();
    store.raise_max_price(a, &code, tierstore_model::Price::new("price", 12.5).unwrap()).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2), "writes waited {:?}", started.elapsed());
    for _ in 0..3 {
        let started = Instant::now();
        let got = store.sourced().account_positions(a).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(1), "read took {:?}", started.elapsed());
        assert_eq!(got.source, Tier::Legacy);
        assert_eq!(
            got.value.positions[&code].max_price,
            Some(tierstore_model::Price::new("price", 12.5).unwrap())
        );
        let q = TradeQuery { accounts: vec![a.clone()], ..Default::default() };
        let started = Instant::now();
        assert_eq!(store.sourced().trades(&q).await.unwrap().source, Tier::Legacy);
        assert!(started.elapsed() < Duration::from_secs(1), "trade read took {:?}", started.elapsed());
    }
    assert!(store.outbox_depth(Tier::Hot) >= 2, "the position writes wait in the outbox");
    let alert = sink.wait_for("fallback", 5).await;
    assert_eq!(alert["source"], "tierstore");
    assert!(["hot", "cool"].contains(&alert["tier"].as_str().unwrap()), "{alert}");
    assert!(!alert.to_string().contains("s3cr3t"), "the webhook's token leaked into the alert: {alert}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_phase_is_cached_for_a_start_while_the_warm_tier_is_down() {
    let mut spec = Spec::new(StorageMode::DualWrite);
    spec.warm = true;
    let stack = Stack::new(spec).await;
    drop(stack.store().await); // reads the phase and caches it
    let mut config = stack.config.clone();
    // A warm tier that cannot be opened: a database file in a directory that does not exist.
    let mut warm = config.warm.clone().unwrap();
    warm.url = tierstore_model::SecretUrl::parse("warm.url", "sqlite:///nonexistent/dir/warm.db").unwrap();
    config.warm = Some(warm);
    let store = Store::open(&config).await.unwrap();
    assert_eq!(store.mode(), StorageMode::DualWrite, "the cached phase");
    drop(store);
    std::fs::remove_file(stack.outbox_dir().join("mode")).unwrap();
    let err = Store::open(&config).await.unwrap_err();
    assert!(err.to_string().contains("warm"), "{err}");
}

/// A writer keeping what the log subscriber prints.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phase_switch_is_logged() {
    let mut spec = Spec::new(StorageMode::File);
    spec.warm = true;
    spec.store = "mode_poll_ms = 60000\n".into(); // this test reads the phase itself
    let stack = Stack::new(spec).await;
    let store = stack.store().await;
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    move_to(&stack.warm().await, StorageMode::DualWrite).await;
    assert_eq!(store.refresh_mode().await.unwrap(), StorageMode::DualWrite);
    let text = String::from_utf8_lossy(&log.0.lock().unwrap()).into_owned();
    assert!(text.contains("storage mode switched"), "{text}");
    assert!(text.contains("from=file") && text.contains("to=dual_write"), "{text}");
}
