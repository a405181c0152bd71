//! The trade contract on a real ClickHouse (18.16 in CI), plus what only this tier has: rows
//! must arrive with their journal ordinal, the last write of an identity wins, spellings and
//! strategies are kept, text that looks like SQL is data, and cross-account statistics come
//! from one query.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use chrono::TimeZone;
use tierstore_contract::trades::TradeEnv;
use tierstore_cool::{AccountTradeStats, CoolConfig, CoolStore};
use tierstore_model::{
    AccountId, DateRange, OrderKind, Price, StockCode, StoreError, StrategyId, Trade, TradeDate, TradeQuery,
    TradeStore, Volume,
};
use tierstore_testkit::ClickhouseDatabase;

async fn setup() -> (ClickhouseDatabase, CoolStore, TradeEnv) {
    let db = ClickhouseDatabase::create().await;
    let mut config = CoolConfig::new(tierstore_model::SecretUrl::parse("clickhouse.url", db.url()).unwrap());
    config.database = db.name().to_owned();
    let store = CoolStore::connect(config).await.unwrap();
    store.schema_up().await.unwrap();
    let env = TradeEnv {
        accounts: [AccountId::new("prod_a").unwrap(), AccountId::new("prod_b").unwrap()],
        timezone: chrono_tz::Asia::Shanghai,
    };
    (db, store, env)
}

tierstore_contract::trade_contract!(trades, setup);

fn acct(s: &str) -> AccountId {
    AccountId::new(s).unwrap()
}

/// A trade at a Shanghai wall-clock time on 2024-10-`day`.
fn trade(account: &str, seq: u64, day: u32, code: &str, kind: OrderKind, price: f64, volume: u64) -> Trade {
    Trade {
        account: acct(account),
        seq: Some(seq),
        strategy: None,
        time: chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2024, 10, day, 10, 0, 0)
            .unwrap()
            .with_timezone(&chrono::Utc),
        code: StockCode::parse(code).unwrap(),
        name: "名称".into(),
        kind,
        remark: String::new(),
        price: Price::new("price", price).unwrap(),
        volume: Volume::new(volume),
    }
}

fn all() -> TradeQuery {
    TradeQuery::default()
}

#[tokio::test]
async fn a_trade_without_its_journal_ordinal_is_refused_and_nothing_is_written() {
    let (_db, store, _env) = setup().await;
    let ok = trade("prod_a", 1, 9, "000001.SZ", OrderKind::BuyFill, 10.0, 100);
    let unnumbered = Trade { seq: None, ..trade("prod_a", 2, 9, "000001.SZ", OrderKind::BuyFill, 10.0, 100) };
    let err = store.append_trades(&[ok, unnumbered]).await.unwrap_err();
    assert!(matches!(&err, StoreError::InvalidInput { field, .. } if field == "seq"), "{err:?}");
    assert!(err.to_string().contains("append it to the journal first"), "{err}");
    assert!(store.trades(&all()).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_last_write_of_an_identity_wins_before_any_merge() {
    let (_db, store, _env) = setup().await;
    let first = trade("prod_a", 1, 9, "000001.SZ", OrderKind::BuyOrder, 10.0, 100);
    let corrected = Trade {
        remark: "改价".into(),
        ..trade("prod_a", 1, 9, "000001.SZ", OrderKind::BuyOrder, 10.5, 100)
    };
    store.append_trades(std::slice::from_ref(&first)).await.unwrap();
    store.append_trades(std::slice::from_ref(&corrected)).await.unwrap();
    assert_eq!(store.trades(&all()).await.unwrap(), std::slice::from_ref(&corrected));
    // Within one call, too: the later row of the same identity wins.
    store.append_trades(&[corrected.clone(), first.clone()]).await.unwrap();
    assert_eq!(store.trades(&all()).await.unwrap(), [first]);
}

#[tokio::test]
async fn spellings_strategies_and_sql_looking_text_are_kept_verbatim() {
    let (_db, store, _env) = setup().await;
    let mut t = trade("prod_a", 1, 9, "sh600000", OrderKind::Other("尾盘买入委托".into()), 8.0, 100);
    t.name = "浦发银行, \"A\"".into();
    t.remark = "'; DROP TABLE trades; --\r\n第二行 \\ ?".into();
    t.strategy = Some(StrategyId::new("wencai_v2").unwrap());
    let bare = Trade {
        code: StockCode::from_symbol("000001").unwrap(),
        ..trade("prod_a", 2, 9, "000001.SZ", OrderKind::Cancel, 10.0, 100)
    };
    store.append_trades(&[t.clone(), bare.clone()]).await.unwrap();
    let got = store.trades(&all()).await.unwrap();
    assert_eq!(got, [t.clone(), bare]);
    assert_eq!(got[0].code.original(), "sh600000", "the spelling, not only the code");
    assert_eq!(got[1].code.original(), "000001");
    let by_strategy = TradeQuery { strategy: t.strategy.clone(), ..all() };
    assert_eq!(store.trades(&by_strategy).await.unwrap(), [t.clone()]);
    let by_label = TradeQuery { kinds: vec![OrderKind::Other("尾盘买入委托".into())], ..all() };
    assert_eq!(store.trades(&by_label).await.unwrap(), [t.clone()]);
    // A filter value that looks like SQL is bound: it matches its own row and nothing else.
    let sly = trade("prod_a", 3, 9, "000001.SZ", OrderKind::Other("x' OR '1'='1 \\".into()), 10.0, 100);
    store.append_trades(std::slice::from_ref(&sly)).await.unwrap();
    let by_sly = TradeQuery { kinds: vec![sly.kind.clone()], ..all() };
    assert_eq!(store.trades(&by_sly).await.unwrap(), [sly]);
    assert_eq!(store.trades(&all()).await.unwrap().len(), 3);
}

#[tokio::test]
async fn cross_account_statistics_by_hand() {
    let (_db, store, _env) = setup().await;
    use OrderKind::*;
    store
        .append_trades(&[
            trade("prod_a", 1, 8, "000001.SZ", BuyOrder, 10.0, 100),
            trade("prod_a", 2, 8, "000001.SZ", BuyFill, 10.0, 100), // 1000.00
            trade("prod_a", 3, 9, "600000.SH", BuyFill, 8.005, 300), // 2401.50
            trade("prod_a", 4, 10, "000001.SZ", SellFill, 11.0, 100), // 1100.00
            trade("prod_a", 5, 11, "000001.SZ", Cancel, 11.0, 100),
            trade("prod_b", 1, 9, "300750.SZ", BuyFill, 200.0, 100), // 20000.00
            trade("prod_b", 2, 9, "300750.SZ", Other("尾盘买入委托".into()), 200.0, 100),
            trade("prod_c", 1, 12, "000001.SZ", BuyFill, 10.0, 100), // outside the dates below
        ])
        .await
        .unwrap();
    let d = |s| TradeDate::parse(s).unwrap();
    let q = TradeQuery { dates: Some(DateRange::new(d("2024-10-01"), d("2024-10-11")).unwrap()), ..all() };
    let stats = store.account_stats(&q).await.unwrap();
    let stat =
        |account: &str, counts: [u64; 5], buy: &str, sell: &str, codes, first, last| AccountTradeStats {
            account: acct(account),
            trades: counts[0],
            orders: counts[1],
            fills: counts[2],
            cancels: counts[3],
            other: counts[4],
            buy_amount: buy.parse().unwrap(),
            sell_amount: sell.parse().unwrap(),
            codes,
            first: d(first),
            last: d(last),
        };
    assert_eq!(
        stats,
        [
            stat("prod_a", [5, 1, 3, 1, 0], "3401.50", "1100.00", 2, "2024-10-08", "2024-10-11"),
            stat("prod_b", [2, 0, 1, 0, 1], "20000.00", "0.00", 1, "2024-10-09", "2024-10-09"),
        ]
    );
    // The other filters apply too: one code, then fills only.
    let one_code = TradeQuery { codes: vec![StockCode::parse("000001.SZ").unwrap()], ..q.clone() };
    assert_eq!(
        store.account_stats(&one_code).await.unwrap(),
        [stat("prod_a", [4, 1, 2, 1, 0], "1000.00", "1100.00", 1, "2024-10-08", "2024-10-11")]
    );
    let fills = TradeQuery { kinds: vec![BuyFill, SellFill], accounts: vec![acct("prod_b")], ..q };
    assert_eq!(
        store.account_stats(&fills).await.unwrap(),
        [stat("prod_b", [1, 0, 1, 0, 0], "20000.00", "0.00", 1, "2024-10-09", "2024-10-09")]
    );
}

/// Reads with dates are narrowed by journal ordinal (the table is sorted by account and
/// ordinal): a trade rewritten with another date is found by its current date only, before
/// any merge, whichever of its versions lay in the dates asked for.
#[tokio::test]
async fn a_trade_rewritten_into_other_dates_is_found_by_its_current_date() {
    let (_db, store, _env) = setup().await;
    use OrderKind::*;
    let first = [
        trade("prod_a", 1, 9, "000001.SZ", BuyFill, 10.0, 100),
        trade("prod_a", 2, 9, "000001.SZ", BuyFill, 10.0, 200),
        trade("prod_a", 3, 12, "000001.SZ", BuyFill, 10.0, 300),
        trade("prod_a", 4, 14, "000001.SZ", BuyFill, 10.0, 400),
    ];
    store.append_trades(&first).await.unwrap();
    // Ordinal 2 moves out of the 9th into the 12th, ordinal 4 from the 14th into the 9th.
    let moved = [
        trade("prod_a", 2, 12, "000001.SZ", BuyFill, 10.0, 200),
        trade("prod_a", 4, 9, "000001.SZ", BuyFill, 10.0, 400),
    ];
    store.append_trades(&moved).await.unwrap();
    let d = |s| TradeDate::parse(s).unwrap();
    let seqs = |dates: DateRange| {
        let store = &store;
        async move {
            let q = TradeQuery { dates: Some(dates), ..all() };
            store.trades(&q).await.unwrap().iter().map(|t| t.seq.unwrap()).collect::<Vec<_>>()
        }
    };
    assert_eq!(seqs(DateRange::new(d("2024-10-08"), d("2024-10-10")).unwrap()).await, [1, 4]);
    assert_eq!(seqs(DateRange::new(d("2024-10-11"), d("2024-10-13")).unwrap()).await, [2, 3]);
    assert_eq!(seqs(DateRange::new(d("2024-10-14"), d("2024-10-20")).unwrap()).await, Vec::<u64>::new());
    let q = TradeQuery { dates: Some(DateRange::new(d("2024-10-11"), d("2024-10-13")).unwrap()), ..all() };
    let stats = store.account_stats(&q).await.unwrap();
    assert_eq!((stats.len(), stats[0].fills), (1, 2));
    assert_eq!(stats[0].buy_amount, "5000.00".parse().unwrap(), "200 + 300 shares at 10.00");
}
