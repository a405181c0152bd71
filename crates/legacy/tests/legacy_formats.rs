//! Every variant of the legacy files is read, and what we write is what the Python program
//! writes. Expected bytes were produced by CPython 3.11 (`json.dumps(d, indent=4)`,
//! `csv.writer`, text-mode newline translation on Windows).

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use tempfile::TempDir;
use tierstore_legacy::{HeldDaysFormat, LegacyConfig, LegacyStore, Platform};
use tierstore_model::{
    AccountId, AssetStore, HeldDays, IncrementOutcome, KlineRange, KlineStore, OrderKind, PositionStore,
    Price, StockCode, StoreError, Trade, TradeDate, TradeId, TradeQuery, TradeStore, Volume,
};

struct Layout {
    root: TempDir,
    store: LegacyStore,
}

impl Layout {
    fn dir(&self) -> PathBuf {
        self.root.path().join("prod_pwc")
    }

    fn daily(&self) -> PathBuf {
        self.root.path().join("_daily")
    }

    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) {
        std::fs::write(self.dir().join(name), bytes).unwrap();
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir().join(name)).unwrap()
    }
}

async fn layout_with(platform: Platform, format: HeldDaysFormat) -> Layout {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("prod_pwc");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(root.path().join("_daily")).unwrap();
    let mut accounts = BTreeMap::new();
    accounts.insert(acct(), dir);
    let mut config = LegacyConfig::new(accounts, Some(root.path().join("_daily")));
    config.platform = platform;
    config.held_days_format = format;
    let store = LegacyStore::open(config).await.unwrap();
    Layout { root, store }
}

async fn layout() -> Layout {
    layout_with(Platform::Linux, HeldDaysFormat::Nested).await
}

fn acct() -> AccountId {
    AccountId::new("prod_pwc").unwrap()
}

fn code(s: &str) -> StockCode {
    StockCode::parse(s).unwrap()
}

fn date(s: &str) -> TradeDate {
    TradeDate::parse(s).unwrap()
}

fn gbk(text: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(text).0.into_owned()
}

const NESTED_BEFORE: &str = "{\r\n    \"_inc_date\": \"2024-10-09\",\r\n    \"000001.SZ\": {\r\n        \"day_count\": 3,\r\n        \"buy_price\": 10.5,\r\n        \"\\u540d\\u79f0\": \"\\u5e73\\u5b89\\u94f6\\u884c\"\r\n    },\r\n    \"131810.SZ\": {\r\n        \"day_count\": null\r\n    },\r\n    \"600000.SH\": {\r\n        \"day_count\": 0\r\n    }\r\n}";
const NESTED_AFTER: &str = "{\r\n    \"_inc_date\": \"2024-10-10\",\r\n    \"000001.SZ\": {\r\n        \"day_count\": 4,\r\n        \"buy_price\": 10.5,\r\n        \"\\u540d\\u79f0\": \"\\u5e73\\u5b89\\u94f6\\u884c\"\r\n    },\r\n    \"131810.SZ\": {\r\n        \"day_count\": null\r\n    },\r\n    \"600000.SH\": {\r\n        \"day_count\": 1\r\n    }\r\n}";

#[tokio::test]
async fn nested_windows_held_days_increment_keeps_extra_keys_and_crlf() {
    let l = layout().await;
    l.write("held_days.json", NESTED_BEFORE);
    let all = l.store.account_positions(&acct()).await.unwrap();
    assert_eq!(all.last_increment, Some(date("2024-10-09")));
    assert_eq!(all.positions[&code("131810.SZ")].held_days, Some(HeldDays::Closed));
    assert_eq!(all.open_count(), 2);
    let r = l.store.increment_held_days(&acct(), date("2024-10-10")).await.unwrap();
    assert_eq!(r, IncrementOutcome::Applied { date: date("2024-10-10"), incremented: 2 });
    assert_eq!(String::from_utf8(l.read("held_days.json")).unwrap(), NESTED_AFTER);
}

#[tokio::test]
async fn flat_held_days_open_and_close_like_python() {
    let l = layout_with(Platform::Linux, HeldDaysFormat::Nested).await;
    l.write(
        "held_days.json",
        "{\n    \"000001.SZ\": 0,\n    \"000002.SZ\": 1,\n    \"_inc_date\": \"2024-10-10\"\n}",
    );
    l.store.open_positions(&acct(), &[code("300750.SZ")]).await.unwrap();
    l.store.close_position(&acct(), &code("000002.SZ")).await.unwrap();
    // The file's own (flat) shape wins over the configured default for new files.
    assert_eq!(
        String::from_utf8(l.read("held_days.json")).unwrap(),
        "{\n    \"000001.SZ\": 0,\n    \"_inc_date\": \"2024-10-10\",\n    \"300750.SZ\": 0\n}"
    );
}

#[tokio::test]
async fn max_price_file_rounds_and_spells_floats_like_python() {
    let l = layout().await;
    l.write("max_price.json", "{\n    \"000001.SZ\": 10.0,\n    \"000002.SZ\": 9.0\n}");
    let p = |v| Price::new("price", v).unwrap();
    l.store.raise_max_price(&acct(), &code("000001.SZ"), p(10.0006)).await.unwrap();
    l.store.raise_max_price(&acct(), &code("600000.SH"), p(8.12345)).await.unwrap();
    l.store.raise_max_price(&acct(), &code("000002.SZ"), p(8.0)).await.unwrap();
    assert_eq!(
        String::from_utf8(l.read("max_price.json")).unwrap(),
        "{\n    \"000001.SZ\": 10.001,\n    \"000002.SZ\": 9.0,\n    \"600000.SH\": 8.123\n}"
    );
    assert!(!l.dir().join("min_price.json").exists(), "min_price.json is created only when needed");
}

#[tokio::test]
async fn unchanged_state_is_written_back_byte_for_byte() {
    let l = layout().await;
    let files = [
        ("held_days.json", NESTED_BEFORE.to_owned()),
        ("max_price.json", "{\n    \"000001.SZ\": 10.52,\n    \"600000.SH\": 0.001\n}".to_owned()),
        ("min_price.json", "{\n    \"SZ000001\": 9.0\n}\n".to_owned()),
    ];
    for (name, text) in &files {
        l.write(name, text);
    }
    let state = l.store.account_positions(&acct()).await.unwrap();
    // Replacing the state with itself rewrites nothing that differs.
    l.store.replace_account(&acct(), &state).await.unwrap();
    for (name, text) in &files {
        assert_eq!(&String::from_utf8(l.read(name)).unwrap(), text, "{name}");
    }
    // A real rewrite of each file reproduces the untouched parts exactly.
    l.store.raise_max_price(&acct(), &code("000002.SZ"), Price::new("p", 5.0).unwrap()).await.unwrap();
    let max = String::from_utf8(l.read("max_price.json")).unwrap();
    assert_eq!(max, "{\n    \"000001.SZ\": 10.52,\n    \"600000.SH\": 0.001,\n    \"000002.SZ\": 5.0\n}");
    l.store.lower_min_price(&acct(), &code("000001.SZ"), Price::new("p", 8.5).unwrap()).await.unwrap();
    assert_eq!(String::from_utf8(l.read("min_price.json")).unwrap(), "{\n    \"SZ000001\": 8.5\n}\n");
}

#[tokio::test]
async fn missing_files_are_empty_and_new_files_follow_the_platform() {
    let l = layout_with(Platform::Windows, HeldDaysFormat::Flat).await;
    assert!(l.store.account_positions(&acct()).await.unwrap().positions.is_empty());
    assert!(l.store.trades(&TradeQuery::default()).await.unwrap().is_empty());
    l.store.open_positions(&acct(), &[code("000001.SZ")]).await.unwrap();
    assert_eq!(String::from_utf8(l.read("held_days.json")).unwrap(), "{\r\n    \"000001.SZ\": 0\r\n}");
}

fn sample_trade(local: (u32, u32, u32), kind: OrderKind, remark: &str) -> Trade {
    let shanghai = chrono_tz::Asia::Shanghai;
    Trade {
        account: acct(),
        seq: None,
        strategy: None,
        time: shanghai.with_ymd_and_hms(2024, 10, 10, local.0, local.1, local.2).unwrap().with_timezone(&Utc),
        code: code("000001.SZ"),
        name: "平安银行".into(),
        kind,
        remark: remark.into(),
        price: Price::new("price", 10.52).unwrap(),
        volume: Volume::new(1000),
    }
}

const WIN_BEFORE: &str = "日期,时间,代码,名称,类型,注释,成交价,成交量\r\n2024-10-10,09:31:05,000001.SZ,平安银行,买入委托,\"开仓,止损 \"\"A\"\"\",10.52,1000\r\n";
const WIN_AFTER: &str = "日期,时间,代码,名称,类型,注释,成交价,成交量\r\n2024-10-10,09:31:05,000001.SZ,平安银行,买入委托,\"开仓,止损 \"\"A\"\"\",10.52,1000\r\n2024-10-10,09:31:06,000001.SZ,平安银行,买入成交,开仓,10.52,1000\r\n";

#[tokio::test]
async fn gbk_crlf_journal_reads_quoted_fields_and_appends_in_kind() {
    let l = layout().await;
    l.write("deal_hist.csv", gbk(WIN_BEFORE));
    let trades = l.store.trades(&TradeQuery::default()).await.unwrap();
    let first =
        Trade { seq: Some(1), ..sample_trade((9, 31, 5), OrderKind::BuyOrder, "开仓,止损 \"A\"") };
    assert_eq!(trades, vec![first]);
    assert_eq!(
        trades[0].time,
        Utc.with_ymd_and_hms(2024, 10, 10, 1, 31, 5).unwrap(),
        "Shanghai wall clock, not UTC"
    );
    let ids = l.store.append_trades(&[sample_trade((9, 31, 6), OrderKind::BuyFill, "开仓")]).await.unwrap();
    assert_eq!(ids, [TradeId { account: acct(), seq: 2 }], "the journal's second row");
    assert_eq!(l.read("deal_hist.csv"), gbk(WIN_AFTER));
}

#[tokio::test]
async fn linux_journal_keeps_lf_header_crlf_rows_bom_and_lf_rows() {
    let l = layout().await;
    let header_lf = WIN_BEFORE.replacen("\r\n", "\n", 1);
    l.write("deal_hist.csv", &header_lf);
    l.store.append_trades(&[sample_trade((9, 31, 6), OrderKind::BuyFill, "开仓")]).await.unwrap();
    assert_eq!(String::from_utf8(l.read("deal_hist.csv")).unwrap(), WIN_AFTER.replacen("\r\n", "\n", 1));

    // UTF-8 with BOM and LF rows (touched by another tool).
    let lf = WIN_AFTER.replace("\r\n", "\n");
    l.write("deal_hist.csv", format!("\u{feff}{lf}"));
    assert_eq!(l.store.trades(&TradeQuery::default()).await.unwrap().len(), 2);
    l.store.append_trades(&[sample_trade((9, 31, 7), OrderKind::BuyFill, "开仓")]).await.unwrap();
    let want = format!("\u{feff}{lf}2024-10-10,09:31:07,000001.SZ,平安银行,买入成交,开仓,10.52,1000\n");
    assert_eq!(String::from_utf8(l.read("deal_hist.csv")).unwrap(), want);
}

#[tokio::test]
async fn a_journal_line_without_terminator_is_not_read_and_not_appended_to() {
    let l = layout().await;
    let cut = &WIN_AFTER[..WIN_AFTER.len() - 6];
    l.write("deal_hist.csv", cut);
    // Being written (or cut off): not a row yet, so reads return the whole rows before it.
    let rows = l.store.trades(&TradeQuery::default()).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let err =
        l.store.append_trades(&[sample_trade((9, 31, 7), OrderKind::BuyFill, "开仓")]).await.unwrap_err();
    assert!(err.to_string().contains("no line terminator"), "{err}");
    assert_eq!(l.read("deal_hist.csv"), cut.as_bytes(), "nothing appended to a cut-off row");
}

#[tokio::test]
async fn new_journals_are_created_as_the_platform_writes_them() {
    for (platform, want) in [
        (Platform::Linux, "日期,时间,代码,名称,类型,注释,成交价,成交量\n2024-10-10,09:31:06,000001.SZ,平安银行,买入成交,开仓,10.52,1000\r\n".as_bytes().to_vec()),
        (Platform::Windows, gbk(&WIN_AFTER.lines().enumerate().filter(|(i, _)| *i != 1).map(|(_, l)| format!("{l}\r\n")).collect::<String>())),
    ] {
        let l = layout_with(platform, HeldDaysFormat::Nested).await;
        l.store.append_trades(&[sample_trade((9, 31, 6), OrderKind::BuyFill, "开仓")]).await.unwrap();
        assert_eq!(l.read("deal_hist.csv"), want, "{platform:?}");
    }
}

#[tokio::test]
async fn reading_then_writing_a_python_journal_gives_identical_bytes() {
    // Every row the Python program writes, through our parser and writer, comes out the same.
    let l = layout().await;
    let text = "日期,时间,代码,名称,类型,注释,成交价,成交量\n\
        2024-10-10,09:31:05,000001.SZ,平安银行,买入委托,\"开仓,止损 \"\"A\"\"\",10.52,1000\r\n\
        2024-10-10,09:31:06,sh600000,浦发银行,尾盘买入委托,\"多行\r\n备注\",8.0,100\r\n\
        2024-10-10,14:59:59,131810.SZ,R-001,撤单,x' OR '1'='1,1.885,100\r\n";
    l.write("deal_hist.csv", text);
    let trades = l.store.trades(&TradeQuery::default()).await.unwrap();
    assert_eq!(trades.len(), 3);
    assert_eq!(trades[1].kind, OrderKind::Other("尾盘买入委托".into()));
    assert_eq!(trades[1].remark, "多行\r\n备注");
    assert_eq!(trades[2].remark, "x' OR '1'='1");
    std::fs::remove_file(l.dir().join("deal_hist.csv")).unwrap();
    l.store.append_trades(&trades).await.unwrap();
    assert_eq!(String::from_utf8(l.read("deal_hist.csv")).unwrap(), text);
}

#[tokio::test]
async fn journal_errors_name_file_line_and_field_and_float_volumes_read() {
    let l = layout().await;
    let text = "日期,时间,代码,名称,类型,注释,成交价,成交量\n\
        2024-10-10,09:31:05,000001.SZ,平安银行,买入委托,\"两行\n备注\",10.52,1000.0\r\n\
        2024-10-10,9:31,000001.SZ,平安银行,买入委托,,10.52,1000\r\n";
    l.write("deal_hist.csv", text);
    let err = l.store.trades(&TradeQuery::default()).await.unwrap_err();
    let path = l.dir().join("deal_hist.csv");
    assert_eq!(
        err.to_string(),
        format!("corrupt data in {} line 4: field 时间 = \"9:31\": expected HH:MM:SS", path.display())
    );
    l.write("deal_hist.csv", text.lines().take(3).map(|x| format!("{x}\n")).collect::<String>());
    let trades = l.store.trades(&TradeQuery::default()).await.unwrap();
    assert_eq!(trades[0].volume.get(), 1000);
    l.write("deal_hist.csv", "date,time\n");
    let err = l.store.trades(&TradeQuery::default()).await.unwrap_err();
    assert!(err.to_string().contains("line 1: header is \"date,time\""), "{err}");
}

#[tokio::test]
async fn a_gbk_journal_refuses_text_it_cannot_hold_and_stays_unchanged() {
    let l = layout().await;
    l.write("deal_hist.csv", gbk(WIN_BEFORE));
    let err =
        l.store.append_trades(&[sample_trade((9, 31, 6), OrderKind::BuyFill, "止盈🚀")]).await.unwrap_err();
    assert!(matches!(&err, StoreError::InvalidInput { field, .. } if field == "remark"), "{err:?}");
    assert_eq!(l.read("deal_hist.csv"), gbk(WIN_BEFORE));
}

#[tokio::test]
async fn header_only_and_missing_files_read_as_empty() {
    let l = layout().await;
    l.write("deal_hist.csv", "日期,时间,代码,名称,类型,注释,成交价,成交量\n");
    assert!(l.store.trades(&TradeQuery::default()).await.unwrap().is_empty());
    std::fs::write(l.daily().join("000001.SZ.csv"), "datetime,open,high,low,close,volume,amount\n").unwrap();
    assert!(l.store.klines(&code("000001.SZ"), KlineRange::last(60).unwrap()).await.unwrap().is_empty());
    assert!(l.store.klines(&code("600000.SH"), KlineRange::last(60).unwrap()).await.unwrap().is_empty());
    assert!(l.store.assets(&acct(), None).await.unwrap().is_empty());
}

#[tokio::test]
async fn unsorted_kline_files_with_duplicates_read_sorted_last_wins_and_rewrite_in_order() {
    let l = layout().await;
    let path = l.daily().join("000001.SZ.csv");
    std::fs::write(
        &path,
        "datetime,open,high,low,close,volume,amount\r\n\
         20240103,9.19,9.22,9.15,9.2,733610.0,673673613.0\r\n\
         20240102,9.39,9.42,9.21,9.21,1158366.0,1075742252.45\r\n\
         20240103,9.0,9.5,8.9,9.1,700000.0,630000000.0\r\n",
    )
    .unwrap();
    let rows = l.store.klines(&code("000001.SZ"), KlineRange::last(10).unwrap()).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].close.get(), 9.1, "the later duplicate wins");
    // A rewrite keeps the file's CRLF and float volumes, now sorted and without duplicates.
    l.store.write_klines(&rows[..1]).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "datetime,open,high,low,close,volume,amount\r\n\
         20240102,9.39,9.42,9.21,9.21,1158366.0,1075742252.45\r\n\
         20240103,9.0,9.5,8.9,9.1,700000.0,630000000.0\r\n"
    );
}

#[tokio::test]
async fn corrupt_position_files_are_errors_naming_file_and_line() {
    let l = layout().await;
    l.write("held_days.json", "{\n    \"000001.SZ\": 0,\n    \"000002.SZ\": -4\n}");
    let err = l.store.account_positions(&acct()).await.unwrap_err();
    let path: &Path = &l.dir().join("held_days.json");
    assert_eq!(
        err.to_string(),
        format!(
            "corrupt data in {} line 3: held days of \"000002.SZ\" must be a whole number >= 0 or null, found -4",
            path.display()
        )
    );
    // A failed write leaves the file as it was.
    let before = l.read("held_days.json");
    assert!(l.store.open_positions(&acct(), &[code("600000.SH")]).await.is_err());
    assert_eq!(l.read("held_days.json"), before);
}

#[tokio::test]
async fn unknown_accounts_are_not_found() {
    let l = layout().await;
    let other = AccountId::new("nope").unwrap();
    let err = l.store.account_positions(&other).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

/// Values the store does not touch come back as CPython writes them after `json.loads`: a
/// float that needs 17 digits, an int beyond 64 bits, `-0` (the int 0). Expected text printed
/// by CPython 3.11 doing the same "+1".
#[tokio::test]
async fn untouched_json_numbers_are_rewritten_as_python_would() {
    let l = layout().await;
    l.write(
        "held_days.json",
        "{\n    \"_inc_date\": \"2024-10-09\",\n    \"000001.SZ\": {\n        \"day_count\": 3,\n        \"cost\": 10.520000000000001,\n        \"big\": 18446744073709551616,\n        \"z\": -0,\n        \"f\": 999999999999999.9\n    }\n}",
    );
    l.store.increment_held_days(&acct(), date("2024-10-10")).await.unwrap();
    assert_eq!(
        String::from_utf8(l.read("held_days.json")).unwrap(),
        "{\n    \"_inc_date\": \"2024-10-10\",\n    \"000001.SZ\": {\n        \"day_count\": 4,\n        \"cost\": 10.520000000000001,\n        \"big\": 18446744073709551616,\n        \"z\": 0,\n        \"f\": 999999999999999.9\n    }\n}"
    );
}

#[tokio::test]
async fn journal_ordinals_count_every_row_and_replays_are_checked() {
    let l = layout().await;
    // Row 2 has seven fields: unreadable, but it still holds ordinal 2.
    let bad = format!("{WIN_AFTER}2024-10-10,09:31:07,000001.SZ,平安银行,买入成交,开仓,10.52\r\n");
    let third = "2024-10-10,09:31:08,000001.SZ,平安银行,买入成交,,10.52,1000\r\n";
    let before = format!(
        "{}{third}",
        bad.replacen("2024-10-10,09:31:06,000001.SZ,平安银行,买入成交,开仓,10.52,1000\r\n", "", 1)
    );
    l.write("deal_hist.csv", gbk(&before));
    let id = |seq| TradeId { account: acct(), seq };

    // A row without an ordinal takes the next one (4); one with ordinal 5 follows it.
    let new = sample_trade((9, 32, 0), OrderKind::BuyFill, "加仓");
    let next = Trade { seq: Some(5), ..sample_trade((9, 32, 1), OrderKind::SellFill, "") };
    let ids = l.store.append_trades(&[new.clone(), next.clone()]).await.unwrap();
    assert_eq!(ids, [id(4), id(5)]);
    let after = l.read("deal_hist.csv");

    // Replaying row 1 as read, and rows 4 and 5, appends nothing.
    let first =
        Trade { seq: Some(1), ..sample_trade((9, 31, 5), OrderKind::BuyOrder, "开仓,止损 \"A\"") };
    let replay = [first.clone(), Trade { seq: Some(4), ..new.clone() }, next.clone()];
    assert_eq!(l.store.append_trades(&replay).await.unwrap(), [id(1), id(4), id(5)]);
    assert_eq!(l.read("deal_hist.csv"), after, "nothing appended by a replay");

    // After a new row (6): a different row under an existing ordinal, an unreadable row's
    // ordinal, and a gap are conflicts naming the trade and the file; nothing is written.
    for (seq, what) in [(1, "a different row"), (2, "a different row"), (8, "the next ordinal is 7")] {
        let t = Trade { seq: Some(seq), ..sample_trade((9, 40, 0), OrderKind::Cancel, "") };
        let err = l.store.append_trades(&[new.clone(), t]).await.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
        assert!(
            msg.contains(&format!("#{seq}")) && msg.contains("deal_hist.csv") && msg.contains(what),
            "{msg}"
        );
        assert_eq!(l.read("deal_hist.csv"), after, "nothing written after the conflict on #{seq}");
    }
}
