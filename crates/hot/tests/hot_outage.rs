//! A Redis that dies and comes back empty: while it is down every call fails fast with
//! "unavailable"; when it is back the store reconnects by itself and reports the lost data
//! (namespace marker missing, accounts refused) instead of reading empty positions, until the
//! state is rehydrated.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::time::{Duration, Instant};

use tierstore_hot::{HotConfig, HotStore, NamespaceStatus};
use tierstore_model::{
    AccountId, AccountPositions, HeldDays, PositionStore, SecretUrl, StockCode, TradeDate,
};
use tierstore_testkit::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_fails_fast_then_reconnects_and_reports_lost_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = RedisServer::start(dir.path(), &[]);
    let mut config = HotConfig::new(SecretUrl::parse("redis.url", &server.url()).unwrap());
    config.namespace = "outage".into();
    config.timeout_ms = 300;
    let store = HotStore::connect(config).await.unwrap();
    let a = AccountId::new("prod_pwc").unwrap();
    let x = StockCode::parse("000001.SZ").unwrap();

    let epoch = store.rehydrate(&[(a.clone(), AccountPositions::default())]).await.unwrap();
    assert_eq!(store.namespace_status().await.unwrap(), NamespaceStatus::Ready(epoch));
    store.open_positions(&a, &[x]).await.unwrap();
    store.set_held_days(&a, &x, HeldDays::Open(7)).await.unwrap();

    // A stream of operations while the server dies: each fails fast with "unavailable".
    server.kill();
    for i in 0..20 {
        let started = Instant::now();
        let r = if i % 2 == 0 {
            store.account_positions(&a).await.map(|_| ())
        } else {
            store.set_held_days(&a, &x, HeldDays::Open(8)).await
        };
        let err = r.expect_err("the server is down");
        assert!(err.is_unavailable(), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(1), "call {i} took {:?}", started.elapsed());
    }

    // Back, empty. No reconnect call: the same store object recovers by itself.
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    let lost = loop {
        match store.namespace_status().await {
            Ok(s) => break s,
            Err(e) => {
                assert!(Instant::now() < deadline, "no reconnection: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert_eq!(lost, NamespaceStatus::Missing, "the lost-data marker");
    let err = store.account_positions(&a).await.expect_err("empty is not the truth");
    assert!(err.needs_rehydrate() && err.to_string().contains("rehydrate"), "{err}");
    let err = store
        .increment_held_days(&a, TradeDate::parse("2024-10-10").unwrap())
        .await
        .expect_err("no +1 on nothing");
    assert!(err.needs_rehydrate(), "{err:?}");
    assert!(err.to_string().contains("never seeded, or Redis lost it"), "{err}");

    // Rehydrating from the files' truth brings the account back.
    let mut truth = AccountPositions::default();
    truth.positions.entry(x).or_default().held_days = Some(HeldDays::Open(7));
    let epoch = store.rehydrate(&[(a.clone(), truth.clone())]).await.unwrap();
    assert_eq!(store.namespace_status().await.unwrap(), NamespaceStatus::Ready(epoch));
    assert_eq!(store.account_positions(&a).await.unwrap(), truth);
}
