//! The asset contract on a real ClickHouse (18.16 in CI), plus idempotence: writing the same
//! points again, before any merge, changes no answer.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use tierstore_contract::assets::AssetEnv;
use tierstore_cool::{CoolConfig, CoolStore};
use tierstore_model::{AccountId, AssetPoint, AssetStore, SecretUrl, TradeDate};
use tierstore_testkit::ClickhouseDatabase;

async fn setup() -> (ClickhouseDatabase, CoolStore, AssetEnv) {
    let db = ClickhouseDatabase::create().await;
    let mut config = CoolConfig::new(SecretUrl::parse("clickhouse.url", db.url()).unwrap());
    config.database = db.name().to_owned();
    let store = CoolStore::connect(config).await.unwrap();
    store.schema_up().await.unwrap();
    let env = AssetEnv { accounts: [AccountId::new("prod_a").unwrap(), AccountId::new("prod_b").unwrap()] };
    (db, store, env)
}

tierstore_contract::asset_contract!(assets, setup);

#[tokio::test]
async fn writing_the_same_points_three_times_answers_as_once() {
    let (_db, store, env) = setup().await;
    let a = &env.accounts[0];
    let points: Vec<AssetPoint> = (0..200)
        .map(|i| AssetPoint {
            account: a.clone(),
            date: TradeDate::from_days_since_epoch(19_000 + i).unwrap(),
            total: format!("{}.{:02}", 1_000_000 + u32::from(i) * 37, i % 100).parse().unwrap(),
        })
        .collect();
    for _ in 0..3 {
        assert_eq!(store.record_assets(&points).await.unwrap(), 200);
    }
    assert_eq!(store.assets(a, None).await.unwrap(), points);
    // A changed point replaces the old one, also before merges.
    let mut changed = points[10].clone();
    changed.total = "1.5".parse().unwrap();
    store.record_assets(&[changed.clone()]).await.unwrap();
    let got = store.assets(a, None).await.unwrap();
    assert_eq!(got.len(), 200);
    assert_eq!(got[10], changed);
}

#[tokio::test]
async fn schema_up_twice_applies_nothing_the_second_time() {
    let (_db, store, _env) = setup().await;
    assert!(store.schema_up().await.unwrap().is_empty());
    let status = store.schema_status().await.unwrap();
    assert!(status.iter().all(|m| m.applied), "{status:?}");
    assert_eq!(status[0].name, "0001_assets");
}
