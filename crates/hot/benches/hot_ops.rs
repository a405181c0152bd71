//! Latency of the hot tier on loopback Redis, for one account with 100 positions: whole
//! account read (FR-001: one round trip, goal p99 <= 200 us), single read, max-price update,
//! and "+1". Sequential calls from one task, so each figure is one request's round trip.
//!
//! `cargo xtask bench hot` (it brings Redis up and sets TIERSTORE_TEST_REDIS_URL). Prints a
//! table and one JSON object per line: `{"bench": NAME, "p50_us": X, "p99_us": Y, "n": CALLS}`.

use tierstore_hot::{HotConfig, HotStore};
use tierstore_model::{
    AccountId, AccountPositions, HeldDays, Position, PositionStore, Price, SecretUrl, StockCode, TradeDate,
};
use tierstore_testkit::bench::{measure, percentile};

const WARMUP: usize = 500;

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let url = std::env::var("TIERSTORE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let mut config = HotConfig::new(SecretUrl::parse("redis.url", &url).expect("url"));
    config.namespace = format!("bench-{:08x}", rand::random::<u32>());
    let store = HotStore::connect(config.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}\nrun `cargo xtask bench hot`"));
    let account = AccountId::new("bench").expect("id");
    let mut state = AccountPositions::default();
    let codes: Vec<StockCode> = (0..100)
        .map(|i| StockCode::new(&format!("{:06}", 600_000 + i), tierstore_model::Market::Sh).expect("code"))
        .collect();
    for (i, c) in codes.iter().enumerate() {
        let p = |v: f64| Some(Price::new("p", v).expect("price"));
        state.positions.insert(
            *c,
            Position {
                held_days: Some(HeldDays::Open(i as u32 % 20)),
                max_price: p(12.5),
                min_price: p(9.75),
            },
        );
    }
    store.replace_account(&account, &state).await.expect("seed");

    let results = [
        (
            "account_read",
            measure(WARMUP, 20_000, |_| async {
                let _ = store.account_positions(&account).await.expect("read");
            })
            .await,
        ),
        (
            "single_read",
            measure(WARMUP, 20_000, |i| {
                let c = codes[i % 100];
                let s = &store;
                let a = &account;
                async move {
                    let _ = s.position(a, &c).await.expect("read");
                }
            })
            .await,
        ),
        (
            "max_update",
            measure(WARMUP, 20_000, |i| {
                let c = codes[i % 100];
                let p = Price::new("p", 10.0 + (i % 997) as f64 / 100.0).expect("price");
                let s = &store;
                let a = &account;
                async move {
                    let _ = s.raise_max_price(a, &c, p).await.expect("max");
                }
            })
            .await,
        ),
        (
            "held_inc",
            measure(WARMUP, 5_000, |i| {
                // A new day each call, so every call really increments 100 positions.
                let day = TradeDate::from_days_since_epoch(20_000 + i as u16).expect("day");
                let s = &store;
                let a = &account;
                async move {
                    let _ = s.increment_held_days(a, day).await.expect("+1");
                }
            })
            .await,
        ),
    ];

    println!("hot tier, one account of 100 positions, {} (loopback), sequential calls", config.url);
    println!("{:<14} {:>10} {:>10} {:>10} {:>8}", "bench", "p50 us", "p99 us", "max us", "n");
    for (name, lat) in &results {
        println!(
            "{name:<14} {:>10.1} {:>10.1} {:>10.1} {:>8}",
            percentile(lat, 0.5).as_secs_f64() * 1e6,
            percentile(lat, 0.99).as_secs_f64() * 1e6,
            lat[lat.len() - 1].as_secs_f64() * 1e6,
            lat.len()
        );
    }
    for (name, lat) in &results {
        println!(
            "{}",
            serde_json::json!({
                "bench": name,
                "p50_us": (percentile(lat, 0.5).as_secs_f64() * 1e7).round() / 10.0,
                "p99_us": (percentile(lat, 0.99).as_secs_f64() * 1e7).round() / 10.0,
                "n": lat.len(),
            })
        );
    }
    let p99 = percentile(&results[0].1, 0.99);
    println!("account_read p99 {:.1} us (goal <= 200 us)", p99.as_secs_f64() * 1e6);
    // Leave nothing behind.
    let mut del = redis::cmd("DEL");
    del.arg(tierstore_hot::keys::AccountKeys::new(&config.namespace, &account).positions)
        .arg(tierstore_hot::keys::accounts_key(&config.namespace))
        .arg(tierstore_hot::keys::epoch_key(&config.namespace));
    if let Ok(client) = redis::Client::open(url.as_str())
        && let Ok(mut c) = client.get_multiplexed_async_connection().await
    {
        let _: redis::RedisResult<i64> = del.query_async(&mut c).await;
    }
}
