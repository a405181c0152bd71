//! Arbitrary bytes in any legacy file give errors, never a panic: random bytes, and valid
//! files with bytes flipped, inserted or cut, through both the inspector (which reads every
//! row) and the store (which reads strictly).

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use tierstore_legacy::inspect::{FileKind, FileReport, inspect_file};
use tierstore_legacy::{LegacyConfig, LegacyStore};
use tierstore_model::{
    AccountId, AssetStore, KlineRange, KlineStore, PositionStore, StockCode, TradeQuery, TradeStore,
};

const SAMPLES: [(&str, FileKind, &str); 6] = [
    (
        "held_days.json",
        FileKind::HeldDays,
        "{\n    \"_inc_date\": \"2024-10-09\",\n    \"000001.SZ\": {\n        \"day_count\": 3\n    },\n    \"131810.SZ\": {\n        \"day_count\": null\n    }\n}",
    ),
    ("max_price.json", FileKind::MaxPrice, "{\n    \"000001.SZ\": 10.52,\n    \"600000.SH\": 9.0\n}"),
    (
        "deal_hist.csv",
        FileKind::Deals,
        "日期,时间,代码,名称,类型,注释,成交价,成交量\n2024-10-10,09:31:05,000001.SZ,平安银行,买入委托,\"开仓,止损 \"\"A\"\"\",10.52,1000\r\n",
    ),
    ("assets.csv", FileKind::Assets, "date,asset\n2024-10-08,1000000.0\n2024-10-09,1001234.56\n"),
    (
        "000001.SZ.csv",
        FileKind::Kline,
        "datetime,open,high,low,close,volume,amount\n20240102,9.39,9.42,9.21,9.21,1158366,1075742252.45\n",
    ),
    ("_code_list.csv", FileKind::CodeList, "code,name\n000001,平安银行\n600000,浦发银行\n"),
];

/// A sample with a few random edits: byte flips, insertions (often of syntax bytes) and a cut.
fn mutated() -> impl Strategy<Value = (usize, Vec<u8>)> {
    let edits = proptest::collection::vec((any::<u16>(), any::<u8>(), 0u8..3), 1..6);
    (0..SAMPLES.len(), edits, any::<u16>(), any::<bool>()).prop_map(|(i, edits, cut, do_cut)| {
        let mut bytes = SAMPLES[i].2.as_bytes().to_vec();
        for (pos, byte, op) in edits {
            let p = pos as usize % (bytes.len() + 1);
            let syntax = b",\"\n\r{}:.-e0\xEF\xBB\xBF\xFF"[byte as usize % 14];
            match op {
                0 if p < bytes.len() => bytes[p] = byte,
                1 => bytes.insert(p, syntax),
                _ => bytes.insert(p, byte),
            }
        }
        if do_cut {
            bytes.truncate(cut as usize % (bytes.len() + 1));
        }
        (i, bytes)
    })
}

fn inspect_bytes(dir: &Path, name: &str, kind: FileKind, bytes: &[u8]) -> FileReport {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    inspect_file(&path, kind, &AccountId::new("a").unwrap(), chrono_tz::Asia::Shanghai)
}

async fn read_through_store(root: &Path, name: &str, bytes: &[u8]) {
    let dir = root.join("acct");
    let daily = root.join("_daily");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&daily).unwrap();
    let target =
        if name.ends_with(".SZ.csv") || name.starts_with('_') { daily.join(name) } else { dir.join(name) };
    std::fs::write(&target, bytes).unwrap();
    let a = AccountId::new("acct").unwrap();
    let mut accounts = BTreeMap::new();
    accounts.insert(a.clone(), dir);
    let store = LegacyStore::open(LegacyConfig::new(accounts, Some(daily))).await.unwrap();
    // Each must answer Ok or Err; a panic fails the property.
    let _ = store.account_positions(&a).await;
    let _ = store.trades(&TradeQuery::default()).await;
    let _ = store.assets(&a, None).await;
    let code = StockCode::parse("000001.SZ").unwrap();
    let _ = store.klines(&code, KlineRange::last(10).unwrap()).await;
    let _ = store.kline_codes().await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(kind in 0..SAMPLES.len(), bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let dir = tempfile::tempdir().unwrap();
        let (name, kind, _) = SAMPLES[kind];
        let _ = inspect_bytes(dir.path(), name, kind, &bytes);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(read_through_store(dir.path(), name, &bytes));
    }

    #[test]
    fn mutated_files_never_panic((i, bytes) in mutated()) {
        let dir = tempfile::tempdir().unwrap();
        let (name, kind, _) = SAMPLES[i];
        let report = inspect_bytes(dir.path(), name, kind, &bytes);
        // Whatever is reported is reported with a line that exists (or 0 for the whole file).
        // Line breaks as csv.reader counts them: `\n`, and a `\r` not followed by `\n`.
        let lone_cr = bytes.windows(2).filter(|w| w[0] == b'\r' && w[1] != b'\n').count() + usize::from(bytes.last() == Some(&b'\r'));
        let lines = (bytes.iter().filter(|b| **b == b'\n').count() + lone_cr) as u64 + 1;
        for e in &report.errors {
            prop_assert!(e.line <= lines, "line {} of a {lines}-line file: {}", e.line, e.reason);
            prop_assert!(!e.reason.is_empty());
        }
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(read_through_store(dir.path(), name, &bytes));
    }
}

#[test]
fn the_unmutated_samples_are_clean() {
    let dir = tempfile::tempdir().unwrap();
    for (name, kind, text) in SAMPLES {
        let report = inspect_bytes(dir.path(), name, kind, text.as_bytes());
        assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
        assert!(report.rows > 0, "{name}");
    }
}
