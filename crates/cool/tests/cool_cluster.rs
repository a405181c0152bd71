//! Cluster mode on two local `clickhouse-server` shards started by each test: the same trade,
//! kline and asset contracts as on one server, through the `Distributed` tables; and rows
//! spread over both shards with one stock's bars (and one account's trades) on one shard.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use tierstore_contract::assets::AssetEnv;
use tierstore_contract::trades::TradeEnv;
use tierstore_cool::{CoolConfig, CoolStore};
use tierstore_model::{
    AccountId, Kline, KlineRange, KlineStore, OrderKind, Price, SecretUrl, StockCode, Trade, TradeDate,
    TradeQuery, TradeStore, Volume,
};
use tierstore_testkit::{CLICKHOUSE_CLUSTER, ClickhouseCluster};

const DB: &str = "tierstore_cluster";

/// The store with `url` on the first shard.
async fn cluster_store() -> (ClickhouseCluster, CoolStore) {
    let cluster = tokio::task::spawn_blocking(ClickhouseCluster::start).await.unwrap();
    let url = cluster.urls()[0].clone();
    store_on(cluster, &url).await
}

/// The store with `url` on a query node that is none of the shards.
async fn query_node_store() -> (ClickhouseCluster, CoolStore) {
    let cluster = tokio::task::spawn_blocking(ClickhouseCluster::start_with_query_node).await.unwrap();
    let url = cluster.query_node_url().unwrap();
    store_on(cluster, &url).await
}

async fn store_on(cluster: ClickhouseCluster, url: &str) -> (ClickhouseCluster, CoolStore) {
    let urls = cluster.urls();
    let mut config = CoolConfig::new(SecretUrl::parse("clickhouse.url", url).unwrap());
    config.database = DB.into();
    config.cluster = Some(CLICKHOUSE_CLUSTER.into());
    config.shards = urls.iter().map(|u| SecretUrl::parse("clickhouse.shards", u).unwrap()).collect();
    let store = CoolStore::connect(config).await.unwrap();
    store.schema_up().await.unwrap();
    (cluster, store)
}

fn accounts() -> [AccountId; 2] {
    [AccountId::new("prod_a").unwrap(), AccountId::new("prod_b").unwrap()]
}

async fn trades() -> (ClickhouseCluster, CoolStore, TradeEnv) {
    let (c, s) = cluster_store().await;
    (c, s, TradeEnv { accounts: accounts(), timezone: chrono_tz::Asia::Shanghai })
}

async fn assets() -> (ClickhouseCluster, CoolStore, AssetEnv) {
    let (c, s) = cluster_store().await;
    (c, s, AssetEnv { accounts: accounts() })
}

tierstore_contract::trade_contract!(trade_contract, trades);
tierstore_contract::kline_contract!(kline_contract, cluster_store);
tierstore_contract::asset_contract!(asset_contract, assets);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_spread_over_both_shards_and_related_rows_stay_together() {
    // Through a query node of its own: it holds the Distributed tables and no data.
    let (cluster, store) = query_node_store().await;
    let p = |v: f64| Price::new("p", v).unwrap();
    let bars: Vec<Kline> = (0..40u32)
        .flat_map(|c| {
            (0..30u16).map(move |d| Kline {
                code: StockCode::parse(&format!("{:06}.SZ", c + 1)).unwrap(),
                date: TradeDate::from_days_since_epoch(19_000 + d).unwrap(),
                open: p(10.0),
                high: p(11.0),
                low: p(9.0),
                close: p(10.5),
                volume: Volume::new(100),
                amount: 1050.0,
            })
        })
        .collect();
    store.write_klines(&bars).await.unwrap();
    store.write_klines(&bars).await.unwrap();
    let trades: Vec<Trade> = (0..12u64)
        .flat_map(|a| {
            (1..=10u64).map(move |n| Trade {
                account: AccountId::new(format!("acct_{a}")).unwrap(),
                seq: Some(n),
                strategy: None,
                time: chrono::DateTime::from_timestamp(1_700_000_000 + i64::try_from(n).unwrap() * 60, 0)
                    .unwrap(),
                code: StockCode::parse("000001.SZ").unwrap(),
                name: "平安银行".into(),
                kind: OrderKind::BuyFill,
                remark: String::new(),
                price: p(10.0),
                volume: Volume::new(100),
            })
        })
        .collect();
    store.append_trades(&trades).await.unwrap();

    // Through the Distributed tables: every row once.
    let got = store
        .klines_of(
            &bars
                .iter()
                .map(|k| k.code)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>(),
            KlineRange::last(100).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(got.values().map(Vec::len).sum::<usize>(), 1_200);
    assert_eq!(store.trades(&TradeQuery::default()).await.unwrap().len(), 120);

    // On the shards: both hold some, none holds a code or an account twice over.
    let mut codes = 0;
    let mut accounts = 0;
    for shard in 0..2 {
        let on_shard =
            cluster.number_on(shard, &format!("SELECT uniqExact(code) FROM {DB}.klines_local")).await;
        assert!(on_shard > 0, "shard {shard} holds no bars");
        codes += on_shard;
        let acc =
            cluster.number_on(shard, &format!("SELECT uniqExact(account) FROM {DB}.trades_local")).await;
        assert!(acc > 0, "shard {shard} holds no trades");
        accounts += acc;
    }
    assert_eq!(codes, 40, "each code on exactly one shard");
    assert_eq!(accounts, 12, "each account on exactly one shard");
    let locals = format!(
        "SELECT count() FROM system.tables WHERE database = '{DB}' AND name IN ('klines_local', 'trades_local', 'assets_local')"
    );
    assert_eq!(cluster.number_on(2, &locals).await, 0, "the query node holds no local table");
    assert_eq!(cluster.number_on(0, &locals).await, 3);
    // Physical rows summed over the shards, counted by hand before and after (a background
    // merge may fold the second write's copies at any moment, and merges only ever lower it).
    let physical = format!(
        "SELECT sum(rows) FROM system.parts WHERE active AND database = '{DB}' AND table = 'klines_local'"
    );
    let before = cluster.number_on(0, &physical).await + cluster.number_on(1, &physical).await;
    let storage = store.storage("klines").await.unwrap();
    let after = cluster.number_on(0, &physical).await + cluster.number_on(1, &physical).await;
    assert!((1_200..=2_400).contains(&storage.rows), "{}", storage.rows);
    assert!((after..=before).contains(&storage.rows), "{} not within {after}..={before}", storage.rows);
}
