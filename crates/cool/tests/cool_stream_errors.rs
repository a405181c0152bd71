//! A server error while a result is being produced surfaces as an error of the stream or the
//! query, never as a shorter answer. Two traps: a table whose column, computed on read, throws
//! once the server reaches rows past a point (an error while reading), and a result limit the
//! server checks as it sends rows (an error after the first rows were produced — the case
//! `wait_end_of_query=1` exists for: without it this test sees a short answer and no error).

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use futures::TryStreamExt;
use tierstore_cool::{CoolConfig, CoolStore};
use tierstore_model::{Kline, KlineRange, KlineStore, StockCode, StoreError, Trade, TradeQuery, TradeStore};
use tierstore_testkit::ClickhouseDatabase;

async fn setup() -> (ClickhouseDatabase, CoolStore) {
    let db = ClickhouseDatabase::create().await;
    let mut config = CoolConfig::new(tierstore_model::SecretUrl::parse("clickhouse.url", db.url()).unwrap());
    config.database = db.name().to_owned();
    config.timeout_ms = 60_000;
    let store = CoolStore::connect(config).await.unwrap();
    store.schema_up().await.unwrap();
    (db, store)
}

fn assert_server_error<T: std::fmt::Debug>(got: Result<T, StoreError>, what: &str) {
    let err = got.expect_err(what);
    // A query the server will never finish is a defect to surface, not an outage to retry.
    assert!(matches!(err, StoreError::Refused { .. }), "{what}: {err:?}");
    assert!(err.to_string().contains("Code: 395"), "{what}: the server's own error: {err}");
}

#[tokio::test]
async fn a_trade_read_that_fails_on_the_server_is_an_error() {
    let (db, store) = setup().await;
    let name = db.name();
    db.execute(&format!("DROP TABLE {name}.trades")).await;
    db.execute(&format!(
        "CREATE TABLE {name}.trades (account String, seq UInt64, time DateTime, date Date, code String, \
         code_style UInt8, name String, kind String, label String, \
         remark String ALIAS concat('r', toString(throwIf(account = 'prod_b' AND seq > 150000))), \
         price Float64, volume UInt64, amount_fen Int64, strategy String, ver UInt64) \
         ENGINE = ReplacingMergeTree(ver) ORDER BY (account, seq)"
    ))
    .await;
    db.execute(&format!(
        "INSERT INTO {name}.trades (account, seq, time, date, code, code_style, name, kind, label, price, \
         volume, amount_fen, strategy, ver) \
         SELECT if(number < 1000, 'prod_a', 'prod_b'), number % 200000 + 1, toDateTime(1700000000 + number), \
         toDate('2024-01-02'), '000001.SZ', 0, 'n', 'cancel', '撤单', 10.5, 100, 105000, '', 1 \
         FROM system.numbers LIMIT 201000"
    ))
    .await;
    let all = TradeQuery::default();
    let streamed: Result<Vec<Vec<Trade>>, _> = store.stream_trades(&all).try_collect().await;
    assert_server_error(streamed, "stream_trades");
    assert_server_error(store.trades(&all).await, "trades");
    // The rows the trap spares read fine: the table itself is sound.
    let q = TradeQuery { accounts: vec![tierstore_model::AccountId::new("prod_a").unwrap()], ..all };
    assert_eq!(store.trades(&q).await.unwrap().len(), 1000);
}

/// A limit the server checks as it sends rows (`max_result_rows` with `result_overflow_mode =
/// throw`, from the configuration's `settings`) fails the response after its first blocks have
/// been produced: the middle of the response.
#[tokio::test]
async fn an_error_after_the_first_rows_is_an_error_not_a_short_answer() {
    let (db, store) = setup().await;
    let name = db.name();
    db.execute(&format!(
        "INSERT INTO {name}.trades (account, seq, time, date, code, code_style, name, kind, label, remark, price, \
         volume, amount_fen, strategy, ver) \
         SELECT 'prod_a', number + 1, toDateTime(1700000000 + number), toDate('2024-01-02'), '000001.SZ', 0, \
         'n', 'cancel', '撤单', '', 10.5, 100, 105000, '', 1 FROM system.numbers LIMIT 300000"
    ))
    .await;
    let all = TradeQuery::default();
    let rows = |got: &Vec<Vec<Trade>>| got.iter().map(Vec::len).sum::<usize>();
    let everything = store.stream_trades(&all).try_collect::<Vec<_>>().await.unwrap();
    assert_eq!(rows(&everything), 300_000, "without the limit, everything");
    let mut config = store.config().clone();
    config.settings.insert("max_result_rows".into(), "100000".into());
    config.settings.insert("result_overflow_mode".into(), "throw".into());
    let limited = CoolStore::connect(config).await.unwrap();
    match limited.stream_trades(&all).try_collect::<Vec<_>>().await {
        Ok(got) => panic!("a stream cut by the server ended with {} rows and no error", rows(&got)),
        Err(e) => assert!(e.to_string().contains("Code: 396"), "the server's limit error: {e}"),
    }
}

#[tokio::test]
async fn a_kline_read_that_fails_on_the_server_is_an_error() {
    let (db, store) = setup().await;
    let name = db.name();
    db.execute(&format!("DROP TABLE {name}.klines")).await;
    db.execute(&format!(
        "CREATE TABLE {name}.klines (code String, date Date, close Int64, open_zz UInt32, open_hi UInt32, \
         high_off Int64, low_off Int64, pscale UInt8, volume UInt32 ALIAS toUInt32(throwIf(code > '100150.SZ')), \
         volume_hi UInt32, vscale UInt8, amount_off Int64, ascale UInt8, ver UInt64) \
         ENGINE = ReplacingMergeTree(ver) PARTITION BY toYear(date) ORDER BY (code, date)"
    ))
    .await;
    db.execute(&format!(
        "INSERT INTO {name}.klines (code, date, close, open_zz, open_hi, high_off, low_off, pscale, volume_hi, \
         vscale, amount_off, ascale, ver) \
         SELECT concat(toString(100001 + intDiv(number, 1000)), '.SZ'), \
         toDate('2020-01-01') + number % 1000, 1000, 0, 0, 0, 0, 2, 0, 0, 100, 2, 1 FROM system.numbers LIMIT 200000"
    ))
    .await;
    let streamed: Result<Vec<Vec<Kline>>, _> = store.stream_klines(None, None).try_collect().await;
    assert_server_error(streamed, "stream_klines");
    let late = StockCode::parse("100151.SZ").unwrap();
    assert_server_error(store.klines(&late, KlineRange::last(60).unwrap()).await, "klines");
    let early = StockCode::parse("100007.SZ").unwrap();
    assert_eq!(store.klines(&early, KlineRange::last(60).unwrap()).await.unwrap().len(), 60);
}
