//! How the composed store falls back and heals, one mechanism at a time, on the real
//! services: databases that hang while serving (Redis's writes time out in the call,
//! ClickHouse's sending times out in the background; reads hit their deadline and the files
//! answer; afterwards every tier ends as the files), a write a database keeps refusing (the
//! outbox-stuck alert), a write the files refuse (no database sees it), acknowledgements
//! reaching the disk while the store runs, the catch-up after a process that died without
//! closing, and bars and points replayed as the files hold them.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod common;

use std::time::{Duration, Instant};

use common::workload::{assert_tiers_equal, trade, write};
use common::{AlertSink, SilentSwitch, Spec, Stack, accounts, settle};
use tierstore_model::{
    AssetPoint, AssetStore, HeldDays, PositionStore, StockCode, StorageMode, StoreError, Tier, TradeDate,
    TradeQuery, TradeStore,
};

fn point(total: &str) -> AssetPoint {
    AssetPoint {
        account: accounts()[0].clone(),
        date: TradeDate::parse("2026-01-05").unwrap(),
        total: total.parse().unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn databases_that_hang_while_serving_are_answered_for_and_end_as_the_files() {
    let sink = AlertSink::start().await;
    let redis_url = tierstore_testkit::redis_url();
    let redis = SilentSwitch::start(redis_url.trim_start_matches("redis://").trim_end_matches('/')).await;
    let clickhouse_url = tierstore_testkit::clickhouse_url();
    let ch_addr = clickhouse_url.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let clickhouse = SilentSwitch::start(&ch_addr).await;
    let mut spec = Spec::new(StorageMode::DbFirst);
    spec.redis_url = Some(format!("redis://{}", redis.addr));
    spec.clickhouse_url = Some(format!("http://{}", clickhouse.addr));
    spec.store = "write_deadline_ms = 300\n".into();
    spec.extra = format!("[alerts]\nurl = {:?}\nmin_interval_ms = 0\n", sink.url);
    let stack = Stack::new(spec).await;
    let store = stack.store().await;
    let a = &accounts()[0];
    let code = StockCode::parse("000001.SZ").unwrap();
    store.open_positions(a, &[code]).await.unwrap();
    settle(&store, 10).await;
    assert_eq!(store.sourced().account_positions(a).await.unwrap().source, Tier::Hot);
    sink.clear();

    redis.set_silent(true);
    clickhouse.set_silent(true);
    // Writes: Redis's times out (300 ms) and waits in the outbox; ClickHouse's are pushed and
    // their sending times out in the background. Every call succeeds.
    let started = Instant::now();
    store.set_held_days(a, &code, HeldDays::Open(3)).await.unwrap();
    store.set_held_days(a, &code, HeldDays::Open(4)).await.unwrap();
    store.record_assets(&[point("100.00")]).await.unwrap();
    // Read at once, while ClickHouse still serves and its sender hangs: the read waits for
    // the point just written, then the files answer — within a second.
    let t = Instant::now();
    let got = store.sourced().assets(a, None).await.unwrap();
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert_eq!((got.source, got.value), (Tier::Legacy, vec![point("100.00")]));
    store.record_assets(&[point("200.00")]).await.unwrap(); // the same key: the later must win
    assert!(started.elapsed() < Duration::from_secs(3), "the writes took {:?}", started.elapsed());
    assert!(store.outbox_depth(Tier::Hot) >= 2 && store.outbox_depth(Tier::Cool) >= 2);
    let until = Instant::now() + Duration::from_secs(3);
    while store.serving(Tier::Hot) || store.serving(Tier::Cool) {
        assert!(Instant::now() < until, "a timed-out write takes its tier out of service");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Reads: the files answer, each within a second.
    for _ in 0..3 {
        let t = Instant::now();
        let got = store.sourced().account_positions(a).await.unwrap();
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
        assert_eq!(
            (got.source, got.value.positions[&code].held_days),
            (Tier::Legacy, Some(HeldDays::Open(4)))
        );
        let t = Instant::now();
        let got = store.sourced().assets(a, None).await.unwrap();
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
        assert_eq!((got.source, got.value.clone()), (Tier::Legacy, vec![point("200.00")]));
    }
    assert_eq!(sink.wait_for_tier("fallback", "hot", 5).await["kind"], "fallback");
    assert_eq!(sink.wait_for_tier("fallback", "cool", 5).await["kind"], "fallback");
    // While they hang, the outboxes cannot drain and neither tier serves.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!store.serving(Tier::Hot) && !store.serving(Tier::Cool));

    redis.set_silent(false);
    clickhouse.set_silent(false);
    settle(&store, 20).await;
    sink.wait_for_tier("recovery", "hot", 5).await;
    sink.wait_for_tier("recovery", "cool", 5).await;
    assert_eq!(stack.cool().await.assets(a, None).await.unwrap(), vec![point("200.00")], "the later point");
    assert_tiers_equal(&stack).await;
    assert_eq!(store.sourced().assets(a, None).await.unwrap().source, Tier::Cool);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_the_database_keeps_refusing_raises_the_outbox_stuck_alert() {
    let sink = AlertSink::start().await;
    let mut spec = Spec::new(StorageMode::DualWrite);
    spec.extra = format!("[alerts]\nurl = {:?}\nmin_interval_ms = 0\n", sink.url);
    let stack = Stack::new(spec).await;
    let store = stack.store().await;
    settle(&store, 10).await;
    let ch = stack.ch.as_ref().unwrap();
    let db = ch.name().to_owned();
    ch.execute(&format!("RENAME TABLE {db}.assets TO {db}.assets_away")).await;
    store.record_assets(&[point("300.00")]).await.unwrap();
    let stuck = sink.wait_for("outbox_stuck", 10).await;
    assert_eq!(stuck["tier"], "cool");
    assert_eq!(store.outbox_depth(Tier::Cool), 1);
    ch.execute(&format!("RENAME TABLE {db}.assets_away TO {db}.assets")).await;
    settle(&store, 20).await;
    assert_eq!(stack.cool().await.assets(&accounts()[0], None).await.unwrap(), vec![point("300.00")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_the_files_refuse_reaches_no_database() {
    let stack = Stack::new(Spec::new(StorageMode::DualWrite)).await;
    let store = stack.store().await;
    let a = &accounts()[0];
    let code = StockCode::parse("000001.SZ").unwrap();
    store.open_positions(a, &[code]).await.unwrap();
    settle(&store, 10).await;
    let before = stack.hot().await.account_positions(a).await.unwrap();
    std::fs::write(stack.legacy_dir(a).join("held_days.json"), b"{\"000001.SZ\": {\"day_count\": ").unwrap();
    let err = store.set_held_days(a, &code, HeldDays::Open(9)).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert_eq!(store.outbox_depth(Tier::Hot), 0, "nothing queued for Redis");
    assert_eq!(stack.hot().await.account_positions(a).await.unwrap(), before, "Redis unchanged");
    // An asset point of an account the store does not write: refused before anything is queued.
    let stranger_point =
        AssetPoint { account: tierstore_model::AccountId::new("not_configured").unwrap(), ..point("1.00") };
    let err = store.record_assets(&[stranger_point]).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert_eq!(store.outbox_depth(Tier::Cool), 0, "nothing queued for ClickHouse");
    // A trade of an account the files do not have.
    let stranger = tierstore_model::AccountId::new("not_configured").unwrap();
    let err = store.append_trades(&[trade(&stranger, 1, code)]).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert_eq!(store.outbox_depth(Tier::Cool), 0, "nothing queued for ClickHouse");
    let ch = stack.ch.as_ref().unwrap();
    assert_eq!(ch.number(&format!("SELECT count() FROM {}.trades", ch.name())).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledgements_reach_the_disk_while_the_store_runs() {
    let stack = Stack::new(Spec::new(StorageMode::DualWrite)).await;
    let store = stack.store().await;
    for i in 0..27 {
        write(&store, &accounts()[0], i).await.unwrap();
    }
    settle(&store, 10).await;
    let log = |tier: &str| std::fs::metadata(stack.outbox_dir().join(tier).join("outbox.log")).unwrap().len();
    let until = Instant::now() + Duration::from_secs(2);
    // Every write arrived: within a flush period the log starts over, empty (its header alone).
    while log("hot") != 24 || log("cool") != 24 {
        assert!(Instant::now() < until, "the outbox logs are {} and {} bytes", log("hot"), log("cool"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Journal rows that reached the files but not the outbox, as a process killed between the
/// journal append and the push that follows it leaves them: here appended by the legacy tier
/// directly. (Bars and asset points are pushed before their file write: see below.)
async fn files_only_writes(stack: &Stack) {
    let legacy = stack.legacy().await;
    let a = &accounts()[0];
    let code = StockCode::parse("600000.SH").unwrap();
    legacy.append_trades(&[trade(a, 1, code), trade(a, 2, code)]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_after_a_process_died_unclosed_catches_clickhouse_up_with_the_files() {
    let stack = Stack::new(Spec::new(StorageMode::DualWrite)).await;
    drop(stack.store().await); // a clean run: creates the outbox, removes its marker
    files_only_writes(&stack).await;
    std::fs::write(stack.outbox_dir().join("running"), b"4242").unwrap(); // the dead process's marker
    let store = stack.store().await;
    settle(&store, 20).await;
    let cool = stack.cool().await;
    let q = TradeQuery { accounts: vec![accounts()[0].clone()], ..Default::default() };
    let seqs: Vec<_> = cool.trades(&q).await.unwrap().iter().map(|t| t.seq).collect();
    assert_eq!(seqs, [Some(1), Some(2)], "the journal rows, by their ordinals");
    assert!(!stack.outbox_dir().join("catch-up").exists(), "the catch-up is done");
    assert_tiers_equal(&stack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_after_a_clean_close_does_not_copy_what_the_files_hold() {
    let stack = Stack::new(Spec::new(StorageMode::DualWrite)).await;
    drop(stack.store().await);
    files_only_writes(&stack).await; // as the Python program would, before a backfill
    let store = stack.store().await;
    settle(&store, 20).await;
    let cool = stack.cool().await;
    let q = TradeQuery { accounts: vec![accounts()[0].clone()], ..Default::default() };
    assert!(cool.trades(&q).await.unwrap().is_empty(), "copying history is the backfill's job");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catch_up_pending_in_file_mode_waits_for_the_databases() {
    let mut spec = Spec::new(StorageMode::File);
    spec.warm = true;
    spec.store = "mode_poll_ms = 100\n".into();
    let stack = Stack::new(spec).await;
    drop(stack.store().await);
    files_only_writes(&stack).await;
    std::fs::write(stack.outbox_dir().join("running"), b"4242").unwrap();
    let store = stack.store().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(stack.outbox_dir().join("catch-up").exists(), "kept while the databases are not written");
    common::move_to(&stack.warm().await, StorageMode::DualWrite).await;
    let mut changes = store.mode_changes();
    tokio::time::timeout(Duration::from_secs(3), changes.wait_for(|m| *m == StorageMode::DualWrite))
        .await
        .unwrap()
        .unwrap();
    settle(&store, 20).await;
    let q = TradeQuery { accounts: vec![accounts()[0].clone()], ..Default::default() };
    assert_eq!(stack.cool().await.trades(&q).await.unwrap().len(), 2);
    assert!(!stack.outbox_dir().join("catch-up").exists());
}

fn bar(code: &str, close_fen: u64) -> tierstore_model::Kline {
    let yuan = |f: u64| tierstore_model::Price::new("price", f as f64 / 100.0).unwrap();
    tierstore_model::Kline {
        code: StockCode::parse(code).unwrap(),
        date: TradeDate::parse("2026-01-05").unwrap(),
        open: yuan(close_fen - 10),
        high: yuan(close_fen + 20),
        low: yuan(close_fen - 20),
        close: yuan(close_fen),
        volume: tierstore_model::Volume::new(1000),
        amount: (close_fen * 1000) as f64 / 100.0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_the_outbox_push_replays_bars_and_points_as_the_files_hold_them() {
    use tierstore::outbox::Outbox;
    use tierstore::tier_write::TierWrite;
    use tierstore_model::{KlineRange, KlineStore};
    let stack = Stack::new(Spec::new(StorageMode::DualWrite)).await;
    drop(stack.store().await);
    // A process pushed these and was killed: one bar's file write went through and a later
    // write replaced it again; the other bar's file write never happened; the point's file
    // write went through with another total.
    {
        let mut outbox = Outbox::open(&stack.outbox_dir().join("cool")).unwrap();
        let bars = TierWrite::Klines { bars: vec![bar("000001.SZ", 1000), bar("600000.SH", 800)] };
        outbox.push(&bars.encode().unwrap()).unwrap();
        outbox.push(&TierWrite::Assets { points: vec![point("100.00")] }.encode().unwrap()).unwrap();
    }
    let legacy = stack.legacy().await;
    legacy.write_klines(&[bar("000001.SZ", 1050)]).await.unwrap();
    legacy.record_assets(&[point("150.00")]).await.unwrap();
    let store = stack.store().await;
    settle(&store, 20).await;
    let cool = stack.cool().await;
    let all = KlineRange::Dates(tierstore_model::DateRange::new(TradeDate::MIN, TradeDate::MAX).unwrap());
    assert_eq!(
        cool.klines(&StockCode::parse("000001.SZ").unwrap(), all).await.unwrap(),
        vec![bar("000001.SZ", 1050)]
    );
    assert!(
        cool.klines(&StockCode::parse("600000.SH").unwrap(), all).await.unwrap().is_empty(),
        "not in the files"
    );
    assert_eq!(cool.assets(&accounts()[0], None).await.unwrap(), vec![point("150.00")]);
    assert_tiers_equal(&stack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bar_whose_file_cannot_be_read_back_is_skipped_and_clickhouse_goes_on() {
    use tierstore_model::KlineStore;
    let stack = Stack::new(Spec::new(StorageMode::DualWrite)).await;
    let store = stack.store().await;
    settle(&store, 10).await;
    std::fs::write(stack.path("_daily/000001.SZ.csv"), b"\xff\xfe not a kline file\n").unwrap();
    assert!(store.write_klines(&[bar("000001.SZ", 1000)]).await.is_err());
    // Its record is read back from the files, which cannot be read: skipped (and logged),
    // and ClickHouse goes on serving.
    settle(&store, 10).await;
    let ch = stack.ch.as_ref().unwrap();
    assert_eq!(ch.number(&format!("SELECT count() FROM {}.klines", ch.name())).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_whose_callers_stop_waiting_still_reach_every_tier() {
    let stack = Stack::new(Spec::new(StorageMode::DualWrite)).await;
    let store = stack.store().await;
    let a = &accounts()[0];
    let code = StockCode::parse("000001.SZ").unwrap();
    store.open_positions(a, &[code]).await.unwrap();
    settle(&store, 10).await;
    // Each call abandoned at once: the write must either not happen or reach every tier.
    for i in 0..200u32 {
        let write = async {
            store.set_held_days(a, &code, HeldDays::Open(i)).await.unwrap();
            store.record_assets(&[point(&format!("{}.00", 1000 + i))]).await.unwrap();
        };
        let _ = tokio::time::timeout(Duration::from_micros(u64::from(i % 7) * 50), write).await;
    }
    // The abandoned writes finish in the background: wait until the files stop changing.
    let legacy = stack.legacy().await;
    let files = async || (legacy.account_positions(a).await.unwrap(), legacy.assets(a, None).await.unwrap());
    let until = Instant::now() + Duration::from_secs(30);
    let mut last = files().await;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = files().await;
        if now == last {
            break;
        }
        assert!(Instant::now() < until, "the abandoned writes did not finish within 30 s");
        last = now;
    }
    settle(&store, 20).await;
    assert_tiers_equal(&stack).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_with_writes_that_cannot_arrive_says_so_and_the_next_start_sends_them() {
    let clickhouse_url = tierstore_testkit::clickhouse_url();
    let clickhouse =
        SilentSwitch::start(clickhouse_url.trim_start_matches("http://").trim_end_matches('/')).await;
    let mut spec = Spec::new(StorageMode::DualWrite);
    spec.clickhouse_url = Some(format!("http://{}", clickhouse.addr));
    spec.store = "write_deadline_ms = 300\n".into();
    let stack = Stack::new(spec).await;
    let store = stack.store().await;
    settle(&store, 10).await;
    clickhouse.set_silent(true);
    store.record_assets(&[point("500.00")]).await.unwrap();
    let err = store.close(Duration::from_millis(500)).await.unwrap_err();
    assert!(err.to_string().contains("wait in the outbox for the next start"), "{err}");
    clickhouse.set_silent(false);
    let store = stack.store().await;
    settle(&store, 20).await;
    assert_eq!(stack.cool().await.assets(&accounts()[0], None).await.unwrap(), vec![point("500.00")]);
    store.close(Duration::from_secs(5)).await.unwrap();
}
