//! The shared position contract on a real Redis, each check in a key namespace of its own.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use tierstore_contract::positions::{PositionEnv, UnknownAccount};
use tierstore_hot::{HotConfig, HotStore};
use tierstore_model::{AccountId, AccountPositions, PositionStore, SecretUrl};
use tierstore_testkit::RedisNamespace;

async fn setup() -> (RedisNamespace, HotStore, PositionEnv) {
    let ns = RedisNamespace::new().await;
    let mut config = HotConfig::new(SecretUrl::parse("redis.url", ns.url()).unwrap());
    config.namespace = ns.prefix().to_owned();
    let store = HotStore::connect(config).await.unwrap();
    let accounts = [AccountId::new("prod_pwc").unwrap(), AccountId::new("test_pwc").unwrap()];
    for a in &accounts {
        store.replace_account(a, &AccountPositions::default()).await.unwrap();
    }
    let env = PositionEnv {
        accounts,
        unknown_account: (AccountId::new("never_seeded").unwrap(), UnknownAccount::Unavailable),
        close_marks_closed: true,
        concurrency: 16,
        updates_per_caller: 50,
    };
    (ns, store, env)
}

tierstore_contract::position_contract!(positions, setup);
