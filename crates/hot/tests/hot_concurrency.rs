//! Concurrency on one account in a real Redis: 8 tasks × 1,000 mixed updates lose nothing,
//! and "+1" called by 16 concurrent tasks for one day increments exactly once.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use tierstore_hot::{HotConfig, HotStore};
use tierstore_model::{
    AccountId, AccountPositions, HeldDays, IncrementOutcome, PositionStore, Price, SecretUrl, StockCode,
    TradeDate,
};
use tierstore_testkit::RedisNamespace;

async fn store() -> (RedisNamespace, HotStore, AccountId) {
    let ns = RedisNamespace::new().await;
    let mut config = HotConfig::new(SecretUrl::parse("redis.url", ns.url()).unwrap());
    config.namespace = ns.prefix().to_owned();
    let store = HotStore::connect(config).await.unwrap();
    let a = AccountId::new("prod_pwc").unwrap();
    store.replace_account(&a, &AccountPositions::default()).await.unwrap();
    (ns, store, a)
}

fn price(task: usize, i: usize) -> f64 {
    20.0 + ((task * 7_919 + i * 104_729) % 1_000_000) as f64 / 100_000.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_tasks_times_a_thousand_mixed_updates_lose_nothing() {
    let (_ns, store, a) = store().await;
    let shared = StockCode::parse("000001.SZ").unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            let a = a.clone();
            tokio::spawn(async move {
                // Each task also owns a stock whose held days it counts up.
                let own = StockCode::new(&format!("60000{t}"), tierstore_model::Market::Sh).unwrap();
                store.open_positions(&a, &[own]).await.unwrap();
                for i in 0..1000 {
                    let p = Price::new("price", price(t, i)).unwrap();
                    match i % 4 {
                        0 => {
                            store.raise_max_price(&a, &shared, p).await.unwrap();
                        }
                        1 => {
                            store.lower_min_price(&a, &shared, p).await.unwrap();
                        }
                        2 => store.set_held_days(&a, &own, HeldDays::Open(i as u32 + 1)).await.unwrap(),
                        _ => {
                            store.raise_max_price(&a, &own, p).await.unwrap();
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let state = store.account_positions(&a).await.unwrap();
    // Expected extremes computed independently by CPython: max/min of `price` over the updates
    // of each kind, then `round(x, 3)`.
    let s = state.positions[&shared];
    assert_eq!(s.max_price.unwrap().get(), 29.998, "max of 29.99784");
    assert_eq!(s.min_price.unwrap().get(), 20.006, "min of 20.00581");
    let own_max = [29.899, 29.978, 29.921, 29.998, 29.943, 29.889, 29.968, 29.911];
    for (t, want_max) in own_max.into_iter().enumerate() {
        let own = StockCode::new(&format!("60000{t}"), tierstore_model::Market::Sh).unwrap();
        let p = state.positions[&own];
        assert_eq!(p.held_days, Some(HeldDays::Open(999)), "task {t}'s last held-days write");
        assert_eq!(p.max_price.unwrap().get(), want_max, "task {t}'s max");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_increments_apply_once() {
    let (_ns, store, a) = store().await;
    let codes: Vec<StockCode> = (0..30)
        .map(|i| StockCode::new(&format!("{:06}", i + 1), tierstore_model::Market::Sz).unwrap())
        .collect();
    store.open_positions(&a, &codes).await.unwrap();
    let day = TradeDate::parse("2024-10-10").unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            let a = a.clone();
            tokio::spawn(async move { store.increment_held_days(&a, day).await.unwrap() })
        })
        .collect();
    let mut applied = 0;
    for t in tasks {
        match t.await.unwrap() {
            IncrementOutcome::Applied { incremented, .. } => {
                applied += 1;
                assert_eq!(incremented, 30);
            }
            IncrementOutcome::AlreadyApplied { date } => assert_eq!(date, day),
        }
    }
    assert_eq!(applied, 1);
    let state = store.account_positions(&a).await.unwrap();
    assert!(state.positions.values().all(|p| p.held_days == Some(HeldDays::Open(1))));
}
