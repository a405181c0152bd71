//! A server that answers but will not serve us now — a read-only replica, a server out of
//! memory — is "unavailable" (retry or fall back), not "corrupt": real servers, real replies,
//! on a plain command (seeding) and inside a script (every update).

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::time::{Duration, Instant};

use tierstore_hot::{HotConfig, HotStore};
use tierstore_model::{AccountId, AccountPositions, PositionStore, Price, SecretUrl, StockCode, StoreError};
use tierstore_testkit::RedisServer;

async fn store(url: &str) -> HotStore {
    let mut config = HotConfig::new(SecretUrl::parse("redis.url", url).unwrap());
    config.namespace = "refusals".into();
    HotStore::connect(config).await.unwrap()
}

fn acct() -> AccountId {
    AccountId::new("prod_pwc").unwrap()
}

fn refused(e: &StoreError, reason: &str) {
    assert!(e.is_unavailable(), "{e:?}");
    assert!(e.to_string().contains(reason), "{e}");
}

async fn update(store: &HotStore) -> Result<Price, StoreError> {
    store
        .raise_max_price(&acct(), &StockCode::parse("000001.SZ").unwrap(), Price::new("price", 10.0).unwrap())
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_replica_is_unavailable_for_writes() {
    let dir = tempfile::tempdir().unwrap();
    let primary = RedisServer::start(&dir.path().join("primary"), &[]);
    let port = primary.port().to_string();
    let replica = RedisServer::start(&dir.path().join("replica"), &["--replicaof", "127.0.0.1", &port]);
    let on_primary = store(&primary.url()).await;
    on_primary.replace_account(&acct(), &AccountPositions::default()).await.unwrap();
    let on_replica = store(&replica.url()).await;
    // Reads are served once the replica has the account.
    let deadline = Instant::now() + Duration::from_secs(10);
    while on_replica.account_positions(&acct()).await.is_err() {
        assert!(Instant::now() < deadline, "the replica never caught up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let e = on_replica.replace_account(&acct(), &AccountPositions::default()).await.unwrap_err();
    refused(&e, "read only replica");
    let e = update(&on_replica).await.unwrap_err();
    refused(&e, "read only replica");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_out_of_memory_is_unavailable_for_writes() {
    let dir = tempfile::tempdir().unwrap();
    let server = RedisServer::start(dir.path(), &["--maxmemory-policy", "noeviction"]);
    let store = store(&server.url()).await;
    store.replace_account(&acct(), &AccountPositions::default()).await.unwrap();
    let mut raw =
        redis::Client::open(server.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let _: () =
        redis::cmd("CONFIG").arg("SET").arg("maxmemory").arg("1").query_async(&mut raw).await.unwrap();
    let e = update(&store).await.unwrap_err();
    refused(&e, "OOM");
    let e = store.replace_account(&acct(), &AccountPositions::default()).await.unwrap_err();
    refused(&e, "OOM");
    // Reads still work: the state is there, only writes are refused.
    assert_eq!(store.account_positions(&acct()).await.unwrap(), AccountPositions::default());
}
