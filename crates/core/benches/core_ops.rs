//! The composed store's latency in each phase, on loopback Redis and ClickHouse and a local
//! disk: a 100-position account read through the store in file, dual_write and db_first (and
//! the hot tier's own read of the same account, measured in the same run: the db_first read
//! should stay within 1.5x of it), and a fill (a journal row plus a position update) in
//! dual_write and db_first (and in file mode, the files' own share). Sequential calls from
//! one task.
//!
//! `cargo xtask bench core` (it brings Redis and ClickHouse up and sets their variables).
//! Prints a table and one JSON object per line: `{"bench", "p50_us", "p99_us", "n"}`.

use std::time::Duration;

use chrono::TimeZone;
use tempfile::TempDir;
use tierstore::{Config, Store};
use tierstore_hot::HotStore;
use tierstore_model::{
    AccountId, AccountPositions, HeldDays, Market, OrderKind, Position, PositionStore, Price, StockCode,
    StorageMode, Tier, Trade, TradeStore, Volume,
};
use tierstore_testkit::bench::{latency_line, measure, percentile};
use tierstore_testkit::{ClickhouseDatabase, RedisNamespace};

const READS: usize = 5_000;
const FILLS: usize = 1_000;

fn main() {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(run());
}

/// One phase's store over namespaces of its own.
struct Deployment {
    _root: TempDir,
    _ns: RedisNamespace,
    _db: ClickhouseDatabase,
    config: Config,
    store: Store,
}

fn account() -> AccountId {
    AccountId::new("bench_acct").expect("id")
}

fn codes() -> Vec<StockCode> {
    (0..100).map(|i| StockCode::new(&format!("{:06}", 600_000 + i), Market::Sh).expect("code")).collect()
}

fn price(v: f64) -> Price {
    Price::new("price", v).expect("price")
}

async fn deploy(mode: StorageMode) -> Deployment {
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join(account().as_str());
    std::fs::create_dir_all(&dir).expect("dir");
    let ns = RedisNamespace::new().await;
    let db = ClickhouseDatabase::create().await;
    let toml = format!(
        "mode = \"{mode}\"\n\
         [redis]\nurl = {:?}\nnamespace = {:?}\n\
         [clickhouse]\nurl = {:?}\ndatabase = {:?}\n\
         [store]\noutbox_dir = {:?}\n\
         [[accounts]]\nid = \"{}\"\nlegacy_dir = {:?}\n",
        ns.url(),
        ns.prefix(),
        db.url(),
        db.name(),
        root.path().join("outbox").display().to_string(),
        account(),
        dir.display().to_string(),
    );
    let config = Config::parse(&toml, "bench", root.path(), |_| None, root.path()).expect("config");
    tierstore::cool::connect(&config).await.expect("clickhouse").schema_up().await.expect("schema");
    let store = Store::open(&config).await.expect("store");
    let mut state = AccountPositions::default();
    for (i, c) in codes().iter().enumerate() {
        state.positions.insert(
            *c,
            Position {
                held_days: Some(HeldDays::Open(i as u32 % 20)),
                max_price: Some(price(12.5)),
                min_price: Some(price(9.75)),
            },
        );
    }
    store.replace_account(&account(), &state).await.expect("seed");
    // Redis is rebuilt from the files at the start; wait until both databases serve.
    for _ in 0..500 {
        if mode == StorageMode::File || (store.serving(Tier::Hot) && store.serving(Tier::Cool)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Deployment { _root: root, _ns: ns, _db: db, config, store }
}

fn fill(i: usize) -> Trade {
    Trade {
        account: account(),
        seq: None,
        strategy: None,
        time: chrono::Utc.with_ymd_and_hms(2026, 1, 5, 1, 30, 0).single().expect("time")
            + chrono::Duration::seconds(i as i64),
        code: codes()[i % 100],
        name: "浦发银行".into(),
        kind: OrderKind::BuyFill,
        remark: "bench".into(),
        price: price(10.0 + (i % 50) as f64 / 100.0),
        volume: Volume::new(100),
    }
}

/// A whole account through the store, checking every answer came from the tier the phase
/// reads (`want`).
async fn account_reads(d: &Deployment, want: Tier) -> Vec<Duration> {
    let a = account();
    measure(200, READS, |_| async {
        let got = d.store.sourced().account_positions(&a).await.expect("read");
        assert_eq!(got.source, want, "an answer from another tier than the phase reads");
    })
    .await
}

/// A fill as strategy code records it: the journal row, then the position's max price.
async fn fills(d: &Deployment) -> Vec<Duration> {
    let a = account();
    measure(50, FILLS, |i| {
        let (s, a) = (&d.store, &a);
        async move {
            s.append_trades(&[fill(i)]).await.expect("journal");
            s.raise_max_price(a, &codes()[i % 100], price(12.0 + (i % 300) as f64 / 100.0))
                .await
                .expect("max");
        }
    })
    .await
}

async fn run() {
    let file = deploy(StorageMode::File).await;
    let dual = deploy(StorageMode::DualWrite).await;
    let db = deploy(StorageMode::DbFirst).await;
    let a = account();
    let source = db.store.sourced().account_positions(&a).await.expect("read").source;
    assert_eq!(source, Tier::Hot, "db_first must read Redis for the figure to mean anything");
    let hot = HotStore::connect(db.config.redis.clone().expect("redis")).await.expect("hot");

    let mut results = vec![
        ("account_read_file", account_reads(&file, Tier::Legacy).await),
        ("account_read_dual_write", account_reads(&dual, Tier::Legacy).await),
        ("account_read_db_first", account_reads(&db, Tier::Hot).await),
        (
            "account_read_hot",
            measure(200, READS, |_| async {
                let _ = hot.account_positions(&a).await.expect("read");
            })
            .await,
        ),
    ];
    // The files' own share of a fill, for comparison.
    results.push(("fill_file", fills(&file).await));
    results.push(("fill_dual_write", fills(&dual).await));
    results.push(("fill_db_first", fills(&db).await));
    // ClickHouse's writes go out in the background: give them a moment, then every write
    // must have arrived.
    for d in [&dual, &db] {
        for _ in 0..1500 {
            if d.store.outbox_depth(Tier::Hot) + d.store.outbox_depth(Tier::Cool) == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for t in [Tier::Hot, Tier::Cool] {
            assert_eq!(d.store.outbox_depth(t), 0, "{t:?} fell behind during the bench");
        }
    }

    println!("composed store, one account of 100 positions, loopback Redis and ClickHouse, sequential calls");
    println!("{:<24} {:>10} {:>10} {:>10} {:>8}", "bench", "p50 us", "p99 us", "max us", "n");
    for (name, lat) in &results {
        println!(
            "{name:<24} {:>10.1} {:>10.1} {:>10.1} {:>8}",
            percentile(lat, 0.5).as_secs_f64() * 1e6,
            percentile(lat, 0.99).as_secs_f64() * 1e6,
            lat[lat.len() - 1].as_secs_f64() * 1e6,
            lat.len()
        );
    }
    for (name, lat) in &results {
        println!("{}", latency_line(name, lat));
    }
    let p99 =
        |name: &str| results.iter().find(|r| r.0 == name).map(|r| percentile(&r.1, 0.99)).unwrap_or_default();
    let ratio = p99("account_read_db_first").as_secs_f64() / p99("account_read_hot").as_secs_f64();
    println!("account_read_db_first p99 / account_read_hot p99 = {ratio:.2} (goal <= 1.5)");
}
