//! The shared contract suites, unchanged, on the composed `Store` in each migration phase:
//! `file` (files only), `dual_write` (files read; files, Redis and ClickHouse written) and
//! `db_first` (Redis and ClickHouse read), every tier a real service in a namespace of the
//! test's own. The warm roles run through the store on an SQLite warm tier whose migration
//! state holds the phase.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod common;

use std::sync::Arc;

use common::{Spec, Stack, accounts};
use tierstore::Store;
use tierstore_contract::WarmEnv;
use tierstore_contract::assets::AssetEnv;
use tierstore_contract::positions::{PositionEnv, UnknownAccount};
use tierstore_contract::trades::TradeEnv;
use tierstore_model::{AccountId, StorageMode};

async fn stack(mode: StorageMode) -> (Stack, Store) {
    let stack = Stack::new(Spec::new(mode)).await;
    let store = stack.store().await;
    assert_eq!(store.mode(), mode);
    if mode == StorageMode::DbFirst {
        // Redis is rebuilt from the files at a start: the checks read it once it serves.
        common::settle(&store, 10).await;
    }
    (stack, store)
}

fn position_env() -> PositionEnv {
    PositionEnv {
        accounts: accounts(),
        // Not a configured account: the files, written first, refuse it in every mode.
        unknown_account: (AccountId::new("not_configured").unwrap(), UnknownAccount::NotFound),
        replace_seeds_unknown: false,
        close_marks_closed: true,
        concurrency: 8,
        updates_per_caller: 25,
    }
}

async fn warm_stack(mode: StorageMode) -> (Stack, Store, WarmEnv) {
    let mut spec = Spec::new(mode);
    spec.warm = true;
    spec.redis = false;
    spec.clickhouse = false;
    let stack = Stack::new(spec).await;
    let env = WarmEnv::new();
    let store = Store::open_with_clock(&stack.config, Arc::new(env.clock.clone())).await.unwrap();
    assert_eq!(store.mode(), mode, "the phase comes from the warm tier");
    (stack, store, env)
}

macro_rules! in_mode {
    ($module:ident, $mode:expr) => {
        mod $module {
            use super::*;

            async fn positions() -> (Stack, Store, PositionEnv) {
                let (g, s) = stack($mode).await;
                (g, s, position_env())
            }
            async fn trades() -> (Stack, Store, TradeEnv) {
                let (g, s) = stack($mode).await;
                (g, s, TradeEnv { accounts: accounts(), timezone: chrono_tz::Asia::Shanghai })
            }
            async fn assets() -> (Stack, Store, AssetEnv) {
                let (g, s) = stack($mode).await;
                (g, s, AssetEnv { accounts: accounts() })
            }
            async fn klines() -> (Stack, Store) {
                stack($mode).await
            }
            async fn warm() -> (Stack, Store, WarmEnv) {
                warm_stack($mode).await
            }

            tierstore_contract::position_contract!(position_contract, positions);
            tierstore_contract::trade_contract!(trade_contract, trades);
            tierstore_contract::asset_contract!(asset_contract, assets);
            tierstore_contract::kline_contract!(kline_contract, klines);
            tierstore_contract::account_contract!(account_contract, warm);
            tierstore_contract::strategy_contract!(strategy_contract, warm);
            tierstore_contract::user_contract!(user_contract, warm);
        }
    };
}

in_mode!(file, StorageMode::File);
in_mode!(dual_write, StorageMode::DualWrite);
in_mode!(db_first, StorageMode::DbFirst);
