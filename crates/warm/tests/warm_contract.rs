//! The warm-role contract suites (accounts, strategies/bindings/params, users, migration
//! state), run unchanged on MariaDB/MySQL, PostgreSQL and SQLite, each test on a database
//! of its own with the schema applied by the migrations.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::sync::Arc;

use tierstore_contract::WarmEnv;
use tierstore_model::SecretUrl;
use tierstore_testkit::{WarmDatabase, WarmEngine};
use tierstore_warm::{WarmConfig, WarmStore};

async fn setup(engine: WarmEngine) -> (WarmDatabase, WarmStore, WarmEnv) {
    let db = WarmDatabase::create(engine).await;
    let config = WarmConfig::new(SecretUrl::parse("warm.url", &db.url()).unwrap());
    let store = WarmStore::connect(config).await.unwrap();
    store.schema_up(None).await.unwrap();
    let env = WarmEnv::new();
    let store = WarmStore::open(store.config().clone())
        .await
        .unwrap()
        .with_clock(Arc::new(env.clock.clone()))
        .with_login_policy(env.policy);
    (db, store, env)
}

macro_rules! on_engine {
    ($module:ident, $engine:expr) => {
        mod $module {
            use super::*;

            async fn engine() -> (WarmDatabase, WarmStore, WarmEnv) {
                setup($engine).await
            }

            tierstore_contract::account_contract!(accounts, engine);
            tierstore_contract::strategy_contract!(strategies, engine);
            tierstore_contract::user_contract!(users, engine);
            tierstore_contract::migration_state_contract!(migration_state, engine);
        }
    };
}

on_engine!(mysql, WarmEngine::Mysql);
on_engine!(postgres, WarmEngine::Postgres);
on_engine!(sqlite, WarmEngine::Sqlite);
