//! The shared position contract on a real Redis, each check in a key namespace of its own.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod common;

use tierstore_contract::positions::PositionEnv;
use tierstore_hot::HotStore;
use tierstore_testkit::RedisNamespace;

async fn setup() -> (RedisNamespace, HotStore, PositionEnv) {
    let ns = RedisNamespace::new().await;
    let prefix = ns.prefix().to_owned();
    let (store, mut env) = common::seeded_store(ns.url(), |c| c.namespace = prefix).await;
    env.updates_per_caller = 50;
    (ns, store, env)
}

tierstore_contract::position_contract!(positions, setup);
