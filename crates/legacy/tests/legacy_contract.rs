//! The shared contract suites on the legacy tier, against real directories: positions in both
//! held-days shapes (nested marks closed positions, flat deletes them), trades, assets, klines.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::collections::BTreeMap;

use tempfile::TempDir;
use tierstore_contract::assets::AssetEnv;
use tierstore_contract::positions::{PositionEnv, UnknownAccount};
use tierstore_contract::trades::TradeEnv;
use tierstore_legacy::{HeldDaysFormat, LegacyConfig, LegacyStore};
use tierstore_model::AccountId;

fn accounts() -> [AccountId; 2] {
    [AccountId::new("prod_pwc").unwrap(), AccountId::new("test_pwc").unwrap()]
}

async fn store(format: HeldDaysFormat) -> (TempDir, LegacyStore) {
    let root = tempfile::tempdir().unwrap();
    let mut dirs = BTreeMap::new();
    for a in accounts() {
        let d = root.path().join(a.as_str());
        std::fs::create_dir_all(&d).unwrap();
        dirs.insert(a, d);
    }
    let daily = root.path().join("_daily");
    std::fs::create_dir_all(&daily).unwrap();
    let mut config = LegacyConfig::new(dirs, Some(daily));
    config.held_days_format = format;
    let store = LegacyStore::open(config).await.unwrap();
    (root, store)
}

fn position_env(close_marks_closed: bool) -> PositionEnv {
    PositionEnv {
        accounts: accounts(),
        unknown_account: (AccountId::new("not_configured").unwrap(), UnknownAccount::NotFound),
        replace_seeds_unknown: false,
        close_marks_closed,
        concurrency: 8,
        updates_per_caller: 25,
    }
}

async fn nested() -> (TempDir, LegacyStore, PositionEnv) {
    let (g, s) = store(HeldDaysFormat::Nested).await;
    (g, s, position_env(true))
}

async fn flat() -> (TempDir, LegacyStore, PositionEnv) {
    let (g, s) = store(HeldDaysFormat::Flat).await;
    (g, s, position_env(false))
}

async fn trades() -> (TempDir, LegacyStore, TradeEnv) {
    let (g, s) = store(HeldDaysFormat::Nested).await;
    (g, s, TradeEnv { accounts: accounts(), timezone: chrono_tz::Asia::Shanghai })
}

async fn assets() -> (TempDir, LegacyStore, AssetEnv) {
    let (g, s) = store(HeldDaysFormat::Nested).await;
    (g, s, AssetEnv { accounts: accounts() })
}

async fn klines() -> (TempDir, LegacyStore) {
    store(HeldDaysFormat::Nested).await
}

tierstore_contract::position_contract!(positions_nested, nested);
tierstore_contract::position_contract!(positions_flat, flat);
tierstore_contract::trade_contract!(trade_contract, trades);
tierstore_contract::asset_contract!(asset_contract, assets);
tierstore_contract::kline_contract!(kline_contract, klines);
