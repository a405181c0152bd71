//! The legacy tier opens a layout of real directories and answers its health probe; a missing
//! directory is `Unavailable` naming it.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::collections::BTreeMap;
use std::time::Duration;

use tierstore_legacy::{LegacyConfig, LegacyStore};
use tierstore_model::{AccountId, StoreError, Tier};

fn config(root: &std::path::Path) -> LegacyConfig {
    let mut accounts = BTreeMap::new();
    accounts.insert(AccountId::new("prod_pwc").unwrap(), root.join("prod_pwc"));
    LegacyConfig::new(accounts, Some(root.join("_daily")))
}

#[tokio::test]
async fn health_contract_on_a_real_layout() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("prod_pwc")).unwrap();
    std::fs::create_dir_all(root.path().join("_daily")).unwrap();
    let store = LegacyStore::open(config(root.path())).await.unwrap();
    tierstore_contract::health::probe_reports_version_and_round_trip(
        &store,
        Tier::Legacy,
        Duration::from_secs(1),
    )
    .await;
}

#[tokio::test]
async fn missing_directory_is_unavailable_and_named() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("_daily")).unwrap();
    let err = LegacyStore::open(config(root.path())).await.unwrap_err();
    let StoreError::Unavailable { tier, address, .. } = &err else { panic!("{err:?}") };
    assert_eq!(*tier, Tier::Legacy);
    assert!(address.ends_with("prod_pwc"), "{address}");
}
