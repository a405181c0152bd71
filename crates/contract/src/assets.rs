//! The asset-store contract.

use tierstore_model::{AccountId, AssetPoint, AssetStore, DateRange, Money, StoreError};

use crate::sample::date;

/// What an asset store's tests provide.
#[derive(Debug, Clone)]
pub struct AssetEnv {
    /// Two accounts the store can hold.
    pub accounts: [AccountId; 2],
}

fn point(account: &AccountId, d: &str, total: &str) -> AssetPoint {
    AssetPoint { account: account.clone(), date: date(d), total: total.parse::<Money>().expect("money") }
}

/// Points read back in date order; a second point for a date replaces the first; ranges
/// select; accounts are separate.
pub async fn record_and_read(store: &dyn AssetStore, env: &AssetEnv) {
    let [a, b] = &env.accounts;
    let written = [
        point(a, "2024-10-10", "1001234.56"),
        point(a, "2024-10-08", "1000000.0"),
        point(b, "2024-10-08", "500000.0"),
        point(a, "2024-10-09", "999999.99"),
    ];
    assert_eq!(store.record_assets(&written).await.expect("record"), 4);
    let got = store.assets(a, None).await.expect("read");
    let shown: Vec<String> = got.iter().map(|p| format!("{} {}", p.date, p.total)).collect();
    assert_eq!(shown, ["2024-10-08 1000000.0", "2024-10-09 999999.99", "2024-10-10 1001234.56"]);

    store.record_assets(&[point(a, "2024-10-09", "1000100.5")]).await.expect("replace");
    let range = DateRange::new(date("2024-10-09"), date("2024-10-09")).expect("range");
    let got = store.assets(a, Some(range)).await.expect("range");
    assert_eq!(got, vec![point(a, "2024-10-09", "1000100.5")]);
    assert_eq!(store.assets(b, None).await.expect("b").len(), 1);
}

/// A negative total is refused and nothing of the batch is written.
pub async fn negative_total_is_refused(store: &dyn AssetStore, env: &AssetEnv) {
    let a = &env.accounts[0];
    let err = store
        .record_assets(&[point(a, "2024-10-08", "1.0"), point(a, "2024-10-09", "-5")])
        .await
        .expect_err("negative");
    assert!(matches!(&err, StoreError::InvalidInput { .. }), "{err:?}");
    assert!(store.assets(a, None).await.expect("read").is_empty());
}

/// `asset_contract!(module, setup)`: one `#[tokio::test]` per asset check; `setup` returns
/// `(guard, store, AssetEnv)`.
#[macro_export]
macro_rules! asset_contract {
    ($module:ident, $setup:path) => {
        $crate::__contract_tests!($module, $setup, assets, [record_and_read, negative_total_is_refused]);
    };
}
