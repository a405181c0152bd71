//! What the hot tier's test files share: a connected store with two seeded, empty accounts,
//! and the position contract's declarations for Redis.

#![allow(dead_code, clippy::unwrap_used)] // each test file uses part of it; setup failures panic

use tierstore_contract::positions::{PositionEnv, UnknownAccount};
use tierstore_hot::{HotConfig, HotStore};
use tierstore_model::{AccountId, AccountPositions, PositionStore, SecretUrl};

/// Connects with `configure` applied and seeds `prod_pwc` and `test_pwc` empty.
pub async fn seeded_store(url: &str, configure: impl FnOnce(&mut HotConfig)) -> (HotStore, PositionEnv) {
    let mut config = HotConfig::new(SecretUrl::parse("redis.url", url).unwrap());
    configure(&mut config);
    let store = HotStore::connect(config).await.unwrap();
    let accounts = [AccountId::new("prod_pwc").unwrap(), AccountId::new("test_pwc").unwrap()];
    for a in &accounts {
        store.replace_account(a, &AccountPositions::default()).await.unwrap();
    }
    let env = PositionEnv {
        accounts,
        unknown_account: (AccountId::new("never_seeded").unwrap(), UnknownAccount::NotSeeded),
        replace_seeds_unknown: true,
        close_marks_closed: true,
        concurrency: 16,
        updates_per_caller: 20,
    };
    (store, env)
}
