//! The position contract on a local 3-master Redis Cluster, started by the test: every
//! per-account script is cluster-legal because an account's keys share one hash slot.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod common;

use std::process::Command;

use tierstore_hot::keys::AccountKeys;
use tierstore_hot::{HotConfig, HotStore};
use tierstore_model::{AccountId, SecretUrl};
use tierstore_testkit::{RedisCluster, unique_suffix};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn position_contract_on_a_three_master_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = RedisCluster::start(dir.path(), 3);

    // An account's key hashes by its hash tag: the slot of `{prod_pwc}` itself.
    let slot = |key: &str| -> i64 {
        let out = Command::new("redis-cli")
            .args(["-p", &cluster.ports()[0].to_string(), "cluster", "keyslot", key])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    let k = AccountKeys::new("ts", &AccountId::new("prod_pwc").unwrap());
    assert_eq!(slot(&k.positions), slot("prod_pwc"), "{}", k.positions);

    let url = cluster.url();
    let mut config = HotConfig::new(SecretUrl::parse("redis.url", &url).unwrap());
    config.cluster = true;
    let probe = HotStore::connect(config).await.unwrap();
    tierstore_contract::health::probe_reports_version_and_round_trip(
        &probe,
        tierstore_model::Tier::Hot,
        std::time::Duration::from_secs(1),
    )
    .await;

    tierstore_contract::positions::run_all(async || {
        let namespace = format!("c{}", unique_suffix());
        let (store, env) = common::seeded_store(&url, |c| {
            c.namespace = namespace;
            c.cluster = true;
        })
        .await;
        ((), store, env)
    })
    .await;
}
