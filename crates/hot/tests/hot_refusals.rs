//! A server that answers but will not serve us now — a read-only replica, a server out of
//! memory — is "unavailable" (retry or fall back), not "corrupt": real servers, real replies.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use tierstore_hot::{HotConfig, HotStore};
use tierstore_model::{AccountId, AccountPositions, PositionStore, SecretUrl};
use tierstore_testkit::RedisServer;

async fn store(url: &str) -> HotStore {
    let mut config = HotConfig::new(SecretUrl::parse("redis.url", url).unwrap());
    config.namespace = "refusals".into();
    HotStore::connect(config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_replica_is_unavailable_for_writes() {
    let dir = tempfile::tempdir().unwrap();
    let primary = RedisServer::start(&dir.path().join("primary"), &[]);
    let port = primary.port().to_string();
    let replica = RedisServer::start(&dir.path().join("replica"), &["--replicaof", "127.0.0.1", &port]);
    let store = store(&replica.url()).await;
    let err = store
        .replace_account(&AccountId::new("prod_pwc").unwrap(), &AccountPositions::default())
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(err.to_string().contains("read only replica"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_out_of_memory_is_unavailable_for_writes() {
    let dir = tempfile::tempdir().unwrap();
    let server = RedisServer::start(dir.path(), &["--maxmemory", "1", "--maxmemory-policy", "noeviction"]);
    let store = store(&server.url()).await;
    let err = store
        .replace_account(&AccountId::new("prod_pwc").unwrap(), &AccountPositions::default())
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(err.to_string().contains("OOM"), "{err}");
}
