//! The modern-server path, exercised on a modern engine. CI's ClickHouse is 18.16, so the DDL
//! and queries the store sends to a current server (codecs, LowCardinality) are captured here
//! and run on chDB, an embedded ClickHouse 26.9 (`cargo xtask chdb` installs it):
//!
//! 1. a loopback HTTP listener stands in for the server, answers `SELECT version()` with
//!    "26.9.2", a count with 0 and everything else with an empty result, and records every
//!    request;
//! 2. the store is driven through its calls (schema, klines, trades, assets, storage), and
//!    the statement shapes expected are checked to have been sent;
//! 3. the recorded statements — values already bound into the text, as the client sends them
//!    — are run in order on chDB: DDL creates the tables, every SELECT must execute, and every
//!    INSERT's column list must exist.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use futures::TryStreamExt;
use tierstore_cool::{CoolConfig, CoolStore, WireCompression};
use tierstore_model::{
    AccountId, AssetPoint, AssetStore, DateRange, Kline, KlineRange, KlineStore, OrderKind, Period, Price,
    SecretUrl, StockCode, Trade, TradeDate, TradeQuery, TradeStore, Volume,
};
use tierstore_testkit::{ClickhouseStandIn, StandInMode, query_param as param};

/// The version the stand-in server reports.
const MODERN: &str = "26.9.2";

fn sample_trade(seq: u64) -> Trade {
    Trade {
        account: AccountId::new("prod_a").unwrap(),
        seq: Some(seq),
        strategy: None,
        time: chrono::DateTime::from_timestamp(1_728_450_000, 0).unwrap(),
        code: StockCode::parse("000001.SZ").unwrap(),
        name: "平安银行".into(),
        kind: OrderKind::BuyFill,
        remark: "x' OR '1'='1".into(),
        price: Price::new("price", 10.52).unwrap(),
        volume: Volume::new(100),
    }
}

/// Every call of the store, against the stand-in server (answers are empty; what matters is
/// what was sent).
async fn drive(store: &CoolStore) {
    let _ = store.schema_up().await;
    let _ = store.schema_status().await;
    let code = StockCode::parse("600000.SH").unwrap();
    let day = |s| TradeDate::parse(s).unwrap();
    let p = |v| Price::new("p", v).unwrap();
    let bar = Kline {
        code,
        date: day("2024-10-09"),
        open: p(10.0),
        high: p(10.5),
        low: p(9.5),
        close: p(10.2),
        volume: Volume::new(1200),
        amount: 12_240.0,
    };
    let _ = store.write_klines(&[bar]).await;
    let mut writer = store.kline_writer(10).unwrap();
    let _ = writer.write(bar).await;
    let _ = writer.finish().await;
    let range = DateRange::new(day("2024-01-01"), day("2024-12-31")).unwrap();
    let _ = store.klines(&code, KlineRange::Dates(range)).await;
    let _ = store.klines(&code, KlineRange::last(60).unwrap()).await;
    let _ = store.klines(&code, KlineRange::Last { n: 60, until: Some(day("2024-10-09")) }).await;
    let _ =
        store.klines_of(&[code, StockCode::parse("000001.SZ").unwrap()], KlineRange::last(5).unwrap()).await;
    let _: Result<Vec<_>, _> = store.stream_klines(Some(&[code]), Some(range)).try_collect().await;
    let _ = store.kline_codes().await;
    let _ = store.kline_spans().await;

    let _ = store.append_trades(&[sample_trade(1), sample_trade(2)]).await;
    let a = AccountId::new("prod_a").unwrap();
    let q = TradeQuery {
        accounts: vec![a.clone()],
        dates: Some(range),
        codes: vec![code],
        kinds: vec![OrderKind::BuyFill, OrderKind::SellFill, OrderKind::Other("尾盘买入委托".into())],
        strategy: Some(tierstore_model::StrategyId::new("wencai").unwrap()),
        newest_first: true,
        limit: Some(10),
    };
    let _ = store.trades(&q).await;
    let _ = store.trades(&TradeQuery::default()).await;
    let streamable = TradeQuery { newest_first: false, limit: None, ..q.clone() };
    let _: Result<Vec<_>, _> = store.stream_trades(&streamable).try_collect().await;
    for period in [Period::Day, Period::Month, Period::Year] {
        let _ = store.summarise_trades(&streamable, period).await;
    }
    let _ = store.account_stats(&TradeQuery { dates: Some(range), ..Default::default() }).await;

    let point =
        AssetPoint { account: a.clone(), date: day("2024-10-09"), total: "1000000.50".parse().unwrap() };
    let _ = store.record_assets(&[point]).await;
    let _ = store.assets(&a, Some(range)).await;
    let _ = store.assets(&a, None).await;
    for table in ["klines", "trades", "assets"] {
        let _ = store.storage(table).await;
    }
}

/// Runs the statements on chDB; prints a JSON list of failures and the tables' DDL.
const CHECK: &str = r#"
import json, sys, tempfile
from chdb import session
statements = json.load(open(sys.argv[1]))
s = session.Session(tempfile.mkdtemp())
failures = []
for st in statements:
    try:
        s.query(st, "CSV")
    except Exception as e:
        failures.append({"sql": st, "error": str(e)[:400]})
ddl = {}
for t in ["klines", "trades", "assets"]:
    try:
        ddl[t] = str(s.query("SHOW CREATE TABLE modern." + t, "TSVRaw"))
    except Exception as e:
        ddl[t] = "missing: " + str(e)[:200]
print(json.dumps({"failures": failures, "ddl": ddl, "ran": len(statements)}))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modern_ddl_and_queries_run_on_a_current_clickhouse_engine() {
    let python = std::env::var("TIERSTORE_TEST_CHDB_PYTHON").unwrap_or_else(|_| {
        panic!(
            "TIERSTORE_TEST_CHDB_PYTHON is not set: run `cargo xtask chdb` (it installs chdb-core into a venv \
             and prints the export line), or run the tests with `cargo xtask ci`"
        )
    });
    let server = ClickhouseStandIn::start(MODERN, StandInMode::Empty).await;
    let mut config = CoolConfig::new(SecretUrl::parse("clickhouse.url", server.url()).unwrap());
    config.database = "modern".into();
    config.compression = WireCompression::None;
    let store = CoolStore::connect(config).await.unwrap();
    assert!(store.server_version().has_codecs(), "the stand-in reports {MODERN}");
    drive(&store).await;

    // SQL as the server would run it: the text in the body, or an INSERT in the URL whose
    // columns must exist.
    let mut statements = Vec::new();
    for r in server.requests() {
        if let Some(insert) = param(&r.query, "query") {
            let db = param(&r.query, "database").unwrap_or_default();
            let (head, _) = insert.split_once(" FORMAT").unwrap();
            let (table, cols) = head.trim_start_matches("INSERT INTO ").split_once('(').unwrap();
            let table = table.trim().trim_matches('`');
            statements.push(format!("SELECT {} FROM {db}.{table} LIMIT 0", cols.trim_end_matches(')')));
        } else {
            statements.push(String::from_utf8(r.body.clone()).unwrap());
        }
    }
    let creates = statements.iter().filter(|s| s.starts_with("CREATE TABLE")).count();
    assert!(creates >= 4, "the DDL was sent: {statements:#?}");
    // The statement shapes the modern engine must accept (the stand-in's empty answers keep a
    // few paths from being taken: the widened kline windows, the window from a remembered
    // date, the per-column sizes after an empty part count).
    for shape in [
        "ORDER BY time DESC, account DESC, seq DESC LIMIT 10",
        "ORDER BY account, code, time, seq",
        "toStartOfMonth(date)",
        "toStartOfYear(date)",
        "uniqExact(code)",
        "(SELECT max(date) FROM modern.klines",
        "GROUP BY code ORDER BY code",
        "WHERE code >= '600000.SH' AND code <= '600000.SH' AND code IN",
        "FROM system.parts",
        "FROM modern.assets FINAL",
        " ORDER BY account, seq",
        "AND seq >= (SELECT min(seq) FROM modern.trades WHERE",
        "AND seq <= (SELECT max(seq) FROM modern.trades WHERE",
    ] {
        assert!(statements.iter().any(|s| s.contains(shape)), "no statement with {shape:?} was sent");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("statements.json");
    std::fs::write(&file, serde_json::to_vec(&statements).unwrap()).unwrap();
    let out = std::process::Command::new(&python).args(["-c", CHECK]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{python}: {}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["failures"], serde_json::json!([]), "statements chDB refused");
    assert_eq!(report["ran"], statements.len());
    let klines = report["ddl"]["klines"].as_str().unwrap();
    assert!(klines.contains("CODEC(Delta") && klines.contains("LowCardinality(String)"), "{klines}");
    let trades = report["ddl"]["trades"].as_str().unwrap();
    assert!(
        trades.contains("LowCardinality(String)") && trades.contains("ORDER BY (account, seq)"),
        "{trades}"
    );
}
